/**
 * Issue 23, item 9: names from the control plane never break out of what renders them. A
 * live state holding ESC, BEL, a newline followed by a fence and a heading, and backticks
 * is planned against the example repository (prune off: unmanaged; prune on: deletes), and
 * every renderer (text, markdown, the pull-request comment in full and shortened) keeps each
 * name on its line, shows control characters as escapes and no code span or fence is closed
 * by a name.
 */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { renderText } from '../../src/render/text.js';
import type { PolicyReport } from '../../src/model/policy.js';
import { code, htmlText, markdownText, renderMarkdown } from '../../src/render/markdown.js';
import { buildComments } from '../../src/vcs/comment.js';
import { EXAMPLE } from './scenarios.js';
import { CONTROL, hostileLiveState } from '../support/hostile-live.js';

const HOSTILE = [
  'esc\u001b[2Jclear',
  'bel\u0007bell',
  'nl\n```\n# Injected heading\n[click](https://evil.example/x)',
  'tick`s` ``x``',
  'rlo\u202ereversed',
];

async function hostilePlans(): Promise<Plan[]> {
  const hostile = await hostileLiveState(HOSTILE);
  const loaded = await loadRepository(EXAMPLE);
  if (!loaded.valid) throw new Error('example invalid');
  const pruned = { ...loaded.desired, config: { ...loaded.desired.config, prune: true } };
  return [computePlan(loaded.desired, hostile), computePlan(pruned, hostile)];
}

/** Lines that open or close a fence, in order: each opening has its closing, nothing else. */
function fencesBalanced(markdown: string): boolean {
  let open: string | null = null;
  for (const line of markdown.split('\n')) {
    const m = /^(`{3,})/.exec(line);
    if (!m) continue;
    if (open === null) open = m[1]!;
    else if (line === open) open = null;
  }
  return open === null;
}

/** Lines of markdown text (outside fences and code spans) holding live link syntax. */
function linksOutsideCode(markdown: string): string[] {
  const found: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const m = /^(`{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]!;
      else if (line === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const text = line.replace(/(`+)[\s\S]*?\1/g, '');
    if (/(?<!\\)\[click(?<!\\)\]\(/.test(text)) found.push(line);
  }
  return found;
}

/** Lines of markdown text (outside fences and code spans) that mention someone (`@name`). */
function mentionsOutsideCode(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').filter((line) => {
    const m = /^(`{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]!;
      else if (line === fence) fence = null;
      return false;
    }
    // GitHub's and GitLab's mentions: an `@` after no word character, then a name.
    return fence === null && /(^|\W)@[A-Za-z0-9_]/.test(line.replace(/(`+)[\s\S]*?\1/g, ''));
  });
}

describe('names from the control plane in every renderer', () => {
  it('text, markdown and the pull-request comment: no control character, no line or fence break-out', async () => {
    const [unmanaged, pruned] = await hostilePlans();
    for (const plan of [unmanaged!, pruned!]) {
      const text = renderText(plan, { color: false });
      const markdown = renderMarkdown(plan);
      const outcome = { kind: 'plan' as const, plan };
      const comment = buildComments({ commit: 'a'.repeat(40), outcome, limit: 65_536 }).body;
      const short = buildComments({ commit: 'a'.repeat(40), outcome, limit: 3000 }).body;
      for (const [what, out] of [
        ['text', text],
        ['markdown', markdown],
        ['comment', comment],
        ['short comment', short],
      ] as const) {
        expect(out, what).not.toMatch(CONTROL);
        expect(
          out.split('\n').some((l) => l.startsWith('# Injected')),
          what,
        ).toBe(false);
        expect(out, what).not.toMatch(/^\[click\]/m);
        // The short comment lists the deletes first; it has no room for unmanaged objects.
        if (what !== 'short comment' || plan === pruned)
          expect(out, what).toContain('esc\\x1b[2Jclear');
        if (what !== 'text') expect(fencesBalanced(out), what).toBe(true);
      }
      // Link syntax in markdown text is neutralised; in code spans it is literal.
      expect(linksOutsideCode(markdown)).toEqual([]);
    }
  });

  it("markdownText leaves code spans as they are, and a value's backticks free nothing", () => {
    // CommonMark reads no escape in a code span: `\[\]` would show its backslashes.
    expect(markdownText('its selector is empty (`clusters: []`)')).toBe(
      'its selector is empty (`clusters: []`)',
    );
    expect(markdownText('a <b> [c] and `<b> [c]`')).toBe('a &lt;b&gt; \\[c\\] and `<b> [c]`');
    // A live pool name that closes the catalog's span early: the spans are where CommonMark
    // puts them (the unmatched `` is literal), and all outside them is escaped.
    const pool = 'x` <img src=https://evil.example/p.png> ![t](https://evil.example/t.png) `';
    expect(markdownText(`retire this one with \`pool: ${pool}\` and \`clusters: []\``)).toBe(
      'retire this one with `pool: x` &lt;img src=https://evil.example/p.png&gt; !\\[t\\](https://evil.example/t.png) `` and `clusters: []`',
    );
    // A value's own backslash cannot cancel the one that neutralises a bracket.
    expect(markdownText('\\[x\\](https://evil.example)')).toBe(
      '\\\\\\[x\\\\\\](https://evil.example)',
    );
  });

  it('a text from the repository or pull request mentions nobody in the comment: an @ is broken by a zero-width space, an entity cannot make one', async () => {
    const [plan] = await hostilePlans();
    // A policy quoting a pull request's annotation, as docs/policies.md's messages do.
    const policies: PolicyReport = {
      source: 'policies',
      from: 'base',
      files: 1,
      rules: 2,
      deny: [
        {
          rule: 'deny',
          msg: 'max-gpus "@org/admins" is not a number (ask &#64;acme/sre)',
          address: 'ClusterPool/gpu',
          location: 'pools/@gpu.yaml:3',
        },
      ],
      warn: [{ rule: 'warn', msg: 'owner `@bob` is quoted in a code span' }],
      elapsed_ms: 1,
      owners: ['alice'],
      failures: `sha256:${'a'.repeat(64)}`,
      refused: '@mallory wrote the pull request',
    };
    const outcome = { kind: 'plan' as const, plan: plan!, policies };
    const comment = buildComments({ commit: 'a'.repeat(40), outcome, limit: 65_536 }).body;
    expect(comment).toContain(
      'max-gpus "@&#8203;org/admins" is not a number (ask &amp;#&#8203;64;acme/sre)',
    );
    expect(comment).toContain('pools/@&#8203;gpu.yaml:3');
    expect(comment).toContain('An approval was refused: @&#8203;mallory wrote the pull request.');
    // A code span shows its text as it is, and mentions nobody on either forge.
    expect(comment).toContain('owner `@bob` is quoted in a code span');
    expect(mentionsOutsideCode(comment)).toEqual([]);
    // Raw HTML (an environment's `<summary>`) too.
    expect(htmlText('@org/admins & <b>')).toBe('@&#8203;org/admins &amp; &lt;b&gt;');
  });

  it("a text from the repository or pull request references no issue, merge request, label, milestone, snippet or epic on either forge; commit SHAs, digests and poolsync's own code spans and links stay", () => {
    // GitHub's autolinked references, then GitLab's: each sigil followed by a zero-width space.
    expect(
      markdownText(
        'fixes #12, GH-7 and acme/infra#4039; see a5c3785ed8d6a358, acme/infra@a5c3785 and `#12 a5c3785`',
      ),
    ).toBe(
      'fixes #&#8203;12, GH-&#8203;7 and acme/infra#&#8203;4039; see a5c3785ed8d6a358, acme/infra@&#8203;a5c3785 and `#12 a5c3785`',
    );
    expect(markdownText('!12 ~bug ~"needs review" %v1.0 %"Release 2" $3 &4 and R&D')).toBe(
      '!&#8203;12 ~&#8203;bug ~&#8203;"needs review" %&#8203;v1.0 %&#8203;"Release 2" $&#8203;3 &amp;&#8203;4 and R&amp;D',
    );
    // What is no reference is left as written: a percentage, a lone tilde, a word, a digest, an anchor.
    const digest = `sha256:${'8b1a0079'.repeat(8)}`;
    expect(markdownText(`50% of ~ 3 pools, !important, ${digest}, docs/daemon.md#guardrails`)).toBe(
      `50% of ~ 3 pools, !important, ${digest}, docs/daemon.md#guardrails`,
    );
    expect(htmlText('prod #12 gh-3 !4')).toBe('prod #&#8203;12 gh-&#8203;3 !&#8203;4');
  });

  it("a text from the repository or pull request cross-references nothing by an issue or merge request URL, nor by GitLab's rarer references; the URL stays whole to copy, a digest too", () => {
    // Both forges turn these URLs into cross-references: in code, neither does, and the URL is as written.
    expect(
      markdownText(
        'see https://github.com/acme/infra/issues/12, https://github.com/acme/infra/pull/7/files and (https://gitlab.example/g/sub/p/-/merge_requests/3#note_9).',
      ),
    ).toBe(
      'see `https://github.com/acme/infra/issues/12`, `https://github.com/acme/infra/pull/7/files` and (`https://gitlab.example/g/sub/p/-/merge_requests/3#note_9`).',
    );
    // Longer than any backtick run of the text, which a lone one cannot pair with; `&` as written in code.
    expect(markdownText('a ` and www.gitlab.example/g/p/-/issues/4?a=1&b=2')).toBe(
      'a ` and ``www.gitlab.example/g/p/-/issues/4?a=1&b=2``',
    );
    // Raw HTML reads no span: <code>, which neither forge links in either.
    expect(htmlText('https://gitlab.example/g/p/-/issues/12?a=1&b=2 & x')).toBe(
      '<code>https://gitlab.example/g/p/-/issues/12?a=1&amp;b=2</code> &amp; x',
    );
    // GitLab's iteration, alert, `[kind:…]`, wiki page and project references: a zero-width space after the sigil.
    expect(
      markdownText(
        '*iteration:"Sprint 3" ^alert#12 ^7 [vulnerability:123] [feature_flag:g/p/1] [[Home]] group/project>',
      ),
    ).toBe(
      '*&#8203;iteration:"Sprint 3" ^&#8203;alert#&#8203;12 ^&#8203;7 \\[&#8203;vulnerability:123\\] \\[&#8203;feature_flag:g/p/1\\] \\[&#8203;\\[Home\\]\\] group/project&#8203;&gt;',
    );
    expect(htmlText('[[Home]] [contact:a] ^alert#1')).toBe(
      '[&#8203;[Home]] [&#8203;contact:a] ^&#8203;alert#&#8203;1',
    );
    // Not references: other URLs, a comparison, a bracket that names no kind, a digest.
    const digest = `sha256:${'8b1a0079'.repeat(8)}`;
    const plain = `https://docs.gitlab.com/user/markdown/ a > b [x] ${digest} *bold*`;
    expect(markdownText(plain)).toBe(
      `https://docs.gitlab.com/user/markdown/ a &gt; b \\[x\\] ${digest} *bold*`,
    );
  });

  it('code() makes a span nothing inside can close', () => {
    expect(code('a`b')).toBe('``a`b``');
    expect(code('``x``')).toBe('``` ``x`` ```');
    expect(code('nl\nx')).toBe('`nl\\nx`');
  });
});
