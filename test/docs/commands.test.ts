/**
 * Every command block of the pages a new user follows runs as written (issue 50), in a fresh
 * copy of this repository, in order, in one shell (test/docs/run-doc.ts: what is emulated and
 * the directives a page may give a block).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from '../support/temp-folder.js';
import { andListSplit, blocksOf, runDoc, scriptOf } from './run-doc.js';

describe('examples/three-backends/README.md', () => {
  it('runs as written: stand-ins, three planned environments, apply, promotion', async () => {
    const r = await runDoc('examples/three-backends/README.md');
    expect(r.code, r.output).toBe(0);
    for (const env of ['development', 'staging', 'production'])
      expect(r.output).toContain(`Environment: ${env}`);
    expect(r.output).toContain('+ staging/queues.yaml');
    expect(r.output).not.toMatch(/Cluster\/gpu-dev-1.*staging|Error:/);
  }, 300_000);
});

describe('examples/environments/README.md', () => {
  it('runs as written from a fresh clone: every environment planned, promoted and applied', async () => {
    const r = await runDoc('examples/environments/README.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('+ staging/queues.yaml');
    expect(r.output).toContain('+ production/queues.yaml');
    expect(r.output).toMatch(/Queue\/experiments +pool gpu/);
    expect(r.output).not.toContain('Error:');
  }, 300_000);
});

describe('docs/getting-started.md', () => {
  it('runs as written: init, a change on a branch, its plan as a comment body, the merge applied', async () => {
    const r = await runDoc('docs/getting-started.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('Added .poolsync/ to');
    expect(r.output).toMatch(/Plan: 3 to create/);
    expect(r.output).toMatch(/Apply complete: 3 created/);
    expect(r.output).toContain('No changes');
    expect(r.output).toMatch(/Queue\/dev-batch +pool dev/);
    // Written outside the repository, the comment body names the commit: a file the redirect
    // made inside left the work tree unclean (`commit unknown`).
    const comment = readFileSync(join(r.work, 'plan-comment.md'), 'utf8');
    expect(comment).toMatch(/<sub>commit `[0-9a-f]{12}`/);
  }, 300_000);
});

describe('docs/control-plane.md', () => {
  it('runs as written: a state created with capabilities, then shown and changed', async () => {
    const r = await runDoc('docs/control-plane.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Apply complete/);
    expect(r.output).toMatch(/^drain,queue_delete\n/m);
    expect(r.output).toMatch(/^drain,cluster_move\n/m);
  }, 300_000);
});

describe('docs/union.md', () => {
  it('runs as written: the local Union API served, applied to over Connect, exported, planned over gRPC', async () => {
    const r = await runDoc('docs/union.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Apply complete: \d+ created/);
    expect(r.output).toMatch(/^Exported 3 pools, 9 clusters and 10 queues to .*local-union$/m);
    // What was exported plans to nothing over the other protocol.
    expect(r.output).toContain('No changes.');
    // What the page says to expect: the example's PoolAssignments blocked, the export's and
    // the last plan's warnings that another repository applied what the folder declares.
    expect(r.output).toMatch(/^Apply complete: .*; 7 blocked;/m);
    expect(r.output).toMatch(/^Warning: \d+ objects written were applied by another repository/m);
    expect(r.output).toMatch(/warning REPOSITORY_CONFLICT/);
    expect(r.output).not.toContain('Error:');
  }, 300_000);
});

describe('docs/flyte-oss.md', () => {
  it('runs as written: the token made, the stand-in flyteadmin served, planned and applied', async () => {
    const r = await runDoc('docs/flyte-oss.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Apply complete: \d+ created/);
    expect(r.output).not.toContain('Error:');
  }, 300_000);
});

describe('README.md', () => {
  it('runs as written: the quickstart with the CLI beside it, a queue changed by hand put back as drift, then the workflow', async () => {
    const r = await runDoc('README.md');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/First run applied/);
    // Drift by hand: the queue changed through the quickstart's API is put back, in words.
    expect(r.output).toMatch(
      /^Run #\d+ put back what was changed on the control plane: applied: 0 created, 1 updated.*\n {2}update Queue\/batch$/m,
    );
    expect(r.output).toMatch(/"name":"batch",.*"run_concurrency":10/);
    expect(r.output).toMatch(/\d+ managed objects/);
    expect(r.output).toContain('Outcome: applied');
    expect(r.output).toMatch(/#1 applied/);
  }, 300_000);
});

describe('the runner', () => {
  /** A page of one block, run as runDoc runs a page: its exit code and output. */
  const runPage = (block: string) => {
    const script = scriptOf(blocksOf(`# Page\n\n\`\`\`sh\n${block}\n\`\`\`\n`));
    const r = spawnSync('bash', ['--noprofile', '--norc', '-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, DOCS_TMP: tempFolder('poolsync-docs-runner-') },
    });
    return { code: r.status, output: r.stdout + r.stderr };
  };

  it('fails on any failing command of a block, one inside an && list included (issue 61)', () => {
    for (const block of [
      'true && false && echo reached',
      'git checkout no-such-branch-here && echo reached   # a comment',
      'echo one\nfalse\necho reached',
      'false | cat && echo reached',
      'cd / && \\\n  false && echo reached',
    ]) {
      // A command after it, as in a page: the old runner ran on and exited 0.
      const r = runPage(`${block}\necho next`);
      expect(r.code, block).not.toBe(0);
      expect(r.output, block).not.toMatch(/reached|next/);
    }
  });

  it('runs what a reader means: quoted &&, `||` fallbacks and conditions are left as written', () => {
    const r = runPage(
      [
        `echo 'a && b' "c && d" $(echo e && echo f)`,
        'false || echo fallback',
        'if false && true; then echo no; else echo condition; fi',
        'cd / && pwd',
      ].join('\n'),
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('a && b c && d e f\nfallback\ncondition\n/\n');
    expect(andListSplit('mkdir x && cd x && git init -b main  # start')).toEqual([
      'mkdir x',
      'cd x',
      'git init -b main  # start',
    ]);
  });
});

describe('the directives', () => {
  it('every block of the pages runs, or says why it does not', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { blocksOf, ROOT } = await import('./run-doc.js');
    for (const page of [
      'README.md',
      'docs/getting-started.md',
      'docs/control-plane.md',
      'examples/three-backends/README.md',
      'examples/environments/README.md',
    ]) {
      const skipped = blocksOf(readFileSync(join(ROOT, page), 'utf8')).filter(
        (b) => b.directive.kind === 'skip',
      );
      for (const b of skipped)
        expect(b.directive.value.length, `${page}:${b.line}`).toBeGreaterThan(20);
    }
  });
});
