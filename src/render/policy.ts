/** The words of a plan's policy results (docs/policies.md): text, markdown, one-line summary. */
import {
  earlierCommit,
  policyVerdict,
  type PolicyApproval,
  type PolicyFinding,
  type PolicyReport,
} from '../model/policy.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { plural } from './common.js';
import { code, markdownText } from './markdown.js';

/** Why a failure of a policy set without owners stays (docs/policies.md, Owners), and the fix. */
export const NO_OWNER =
  'the policy set lists no owner; fix the plan, or add `owners` under `policies` in poolsync.yaml (`--policy-owners` for the daemon)';

/**
 * `policies/ (base branch): 3 rules in 2 files`; with the daemon's last applied commit's set (or
 * the commit before a push's) beside it, `policies: 1 rule in 1 file, and policies of the last
 * applied commit 0a1b2c3d4e5f: …`.
 */
function setName(r: PolicyReport): string {
  const from = r.from === 'base' ? ' (base branch)' : '';
  const counts = (s: { rules: number; files: number }) =>
    `${plural(s.rules, 'rule')} in ${plural(s.files, 'file')}`;
  const applied = r.lastApplied;
  if (r.alone) return `${r.source}${from}: ${counts(r)} (${r.alone}: this commit's judged alone)`;
  if (!applied) return `${r.source}${from}: ${counts(r)}`;
  const of = `of ${earlierCommit(applied)}`;
  if (applied.set === 'only')
    return `${r.source} ${of} (this commit configures none): ${counts(r)}`;
  if (applied.set === 'unread')
    return `${r.source}${from}: ${counts(r)} (the policies ${of} could not be read, ${applied.unread}: this commit's judged alone)`;
  const also =
    applied.set === 'same' ? '' : `, and ${applied.set.source} ${of}: ${counts(applied.set)}`;
  return `${r.source}${from}: ${counts(r)}${also}`;
}

/** `alice, bob`, saying when they are the last applied commit's (a commit never names its own). */
function ownersOf(r: PolicyReport): string {
  const listed = r.owners.join(', ');
  const applied = r.lastApplied;
  if (!applied?.owners) return listed;
  return `${listed}, as ${earlierCommit(applied)} lists them: the owners a commit lists approve from the commit after it`;
}

/** One line: what the policies decided (plan's last line, /status, logs). */
export function policySummary(r: PolicyReport): string {
  const v = policyVerdict(r);
  if (v === 'error')
    return r.error !== undefined
      ? `Policies failed to evaluate: ${r.error}`
      : `Policies of ${r.source}: 0 policies evaluated, which is a failure: write \`deny\`, \`violation\` or \`warn\` rules in package main`;
  const counts = `${plural(r.deny.length, 'failure')}, ${plural(r.warn.length, 'warning')}`;
  if (v === 'approved')
    return `Policies of ${setName(r)}: ${counts}; the failures are approved by ${r.approval!.by} (${r.approval!.why})`;
  if (v === 'deny')
    return r.owners.length > 0
      ? `Policies of ${setName(r)}: ${counts}: apply is blocked until an owner of the policies approves (${ownersOf(r)})`
      : `Policies of ${setName(r)}: ${counts}: apply is blocked, and nobody can approve: ${NO_OWNER}`;
  return `Policies of ${setName(r)}: ${counts}: passed`;
}

function where(f: PolicyFinding): string {
  const at = f.location ?? f.address;
  return `${at ? ` (${at})` : ''}${f.set ? ` (${f.set})` : ''}`;
}

/** The text block under a plan: each failure and warning, then the summary line. */
export function policyText(r: PolicyReport): string {
  const lines = ['', 'Policies:'];
  for (const f of r.deny) lines.push(`  FAIL ${f.rule}: ${escapeTerminal(f.msg)}${where(f)}`);
  for (const f of r.warn) lines.push(`  WARN ${f.rule}: ${escapeTerminal(f.msg)}${where(f)}`);
  lines.push(`  ${escapeTerminal(policySummary(r))}`);
  if (r.refused) lines.push(`  An approval was refused: ${escapeTerminal(r.refused)}`);
  if (r.unread) lines.push(`  ${escapeTerminal(unreadWords(r.unread))}`);
  return `${lines.join('\n')}\n`;
}

/** The PR comment's section: each failure with its message and `file:line`. */
export function policyMarkdown(r: PolicyReport): string {
  const icon = { pass: '✅', warn: '⚠️', approved: '✅', deny: '❌', error: '❌' }[
    policyVerdict(r)
  ];
  const lines = [`### ${icon} Policies`, '', markdownText(policySummary(r))];
  const rows: [string, PolicyFinding][] = [
    ...r.deny.map((f): [string, PolicyFinding] => ['FAIL', f]),
    ...r.warn.map((f): [string, PolicyFinding] => ['WARN', f]),
  ];
  if (rows.length > 0) {
    lines.push('', '| | rule | message | where |', '| --- | --- | --- | --- |');
    for (const [level, f] of rows)
      lines.push(
        `| ${level} | ${code(f.rule)} | ${cell(f.msg)} | ${cell([f.location ?? f.address, f.set].filter(Boolean).join(', '))} |`,
      );
  }
  if (r.refused) lines.push('', markdownText(`An approval was refused: ${r.refused}.`));
  if (r.unread) lines.push('', markdownText(unreadWords(r.unread)));
  if (policyVerdict(r) === 'deny' && r.failures)
    lines.push(
      '',
      r.owners.length > 0
        ? `An owner of the policies (${r.owners.map(code).join(', ')}), not the author, releases exactly these failures with a comment ${code(`poolsync approve-policies ${r.failures} WHY`)} (read by the daemon, \`plan --comment\` and \`apply --policy-approvals\`: docs/policies.md).`
        : `Nobody can release these failures: ${markdownText(NO_OWNER)} (docs/policies.md).`,
    );
  return `${lines.join('\n')}\n`;
}

const unreadWords = (why: string) =>
  `The approvals on the pull request cannot be read, so none releases these failures: ${why}`;

/** A table cell: markdown neutralised, and no `|` ending it. */
const cell = (text: string): string => markdownText(text).replaceAll('|', '\\|');

/** The daemon's replies to `poolsync approve-policies` comments (daemon/pull-requests.ts). */
export const policyWords = {
  noPolicies: 'this daemon checks no policies: there is nothing to approve',
  approved: (a: PolicyApproval, environment: string | null) =>
    `✅ Policy failures \`${a.failures}\`${environment ? ` of environment \`${environment}\`` : ''} approved by @${a.by}: ${markdownText(a.why)}. The daemon applies them once they are on the branch it follows, while the policies fail with exactly these.`,
};
