/**
 * A new head while an older commit applies (docs/daemon.md#triggers): a commit that deletes a
 * busy cluster waits for its in-flight work (wait_idle before the delete, C8); the commit is
 * reverted during the wait and the daemon told (`poolsync sync`). The wait is aborted, the run
 * recorded `superseded by <sha>`, the delete never sent (the control plane's own request log),
 * and the follow-up run plans the revert at once. The daemon and the control plane are real
 * processes' servers: the daemon a child process, the plane served with `--simulate`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';
import { until } from '../support/until.js';
import { simOverHttp } from '../controlplane/sim-http.js';
import { manifests } from './fixtures.js';
import { TestRepo, git, tempDir } from './helpers.js';

const ROOT = resolve(__dirname, '../..');
const TOKEN = 'reconcile-token-0123456789';

describe('a run superseded by a new head', () => {
  it('a reverted cluster delete waiting for in-flight work is never sent', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests({ clusters: ['o1', 'o2'] }));
    const requests: string[] = [];
    const served = await servedControlPlane({
      simulate: true,
      mounts: [
        {
          handle: (req, _res, url) => {
            requests.push(`${req.method} ${url.pathname}`);
            return false;
          },
        },
      ],
    });

    let output = '';
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', resolve(ROOT, 'src/cli/main.ts'), 'daemon'],
        ...['--repo', repo.bare, '--control-plane', served.url, '--policy', 'all'],
        ...['--poll-interval', '1h', '--listen', '127.0.0.1:0', '--log-format', 'json'],
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          POOLSYNC_STATE_DIR: tempDir(),
          POOLSYNC_RECONCILE_TOKEN: TOKEN,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    stopsWithThisProcess(child, 'SIGKILL');
    cleanup.add(() => void child.kill('SIGKILL'));
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const detail = () => output;
    const url = await until(
      'the daemon to listen',
      () => /(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
      {
        detail,
      },
    );
    const status = async () => (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
    const runOf = (commit: string) =>
      until(
        `a run of ${commit}`,
        async () => (await status()).runs.find((r) => r.commit === commit),
        {
          detail,
        },
      );
    const sync = async () => {
      const res = await fetch(`${url}/reconcile`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBeLessThan(300);
    };
    const first = git(repo.work, 'rev-parse', 'HEAD');
    expect((await runOf(first)).result).toBe('applied');

    // Busy long enough that, without superseding, the delete goes out well within the test.
    await simOverHttp(served.url).setQueueActivity('o1', {
      runs_in_flight: 3,
      actions_in_flight: 3,
      finish_over_ms: 20_000,
    });
    const destroy = repo.commit({ 'clusters/o1.yaml': null }, 'remove o1');
    await sync();
    await until('the delete to wait for o1', () => output.includes('waiting for in-flight work'), {
      detail,
    });
    git(repo.work, 'revert', '--no-edit', 'HEAD');
    git(repo.work, 'push', '--quiet', 'origin', 'HEAD:main');
    const revert = git(repo.work, 'rev-parse', 'HEAD');
    await sync();

    const superseded = await runOf(destroy);
    expect(superseded).toMatchObject({ result: 'superseded', changedTotal: 0 });
    expect(superseded.message).toMatch(
      new RegExp(
        `^superseded by ${revert.slice(0, 12)}: apply stopped, 0 steps done, 1 wait for in-flight work stopped, 1 step not started; the next run plans `,
      ),
    );
    expect(superseded.stopped).toMatchObject({
      by: `superseded by ${revert.slice(0, 12)}`,
      notRun: ['delete_cluster Cluster/o1'],
    });
    const followUp = await runOf(revert);
    expect(followUp.result).toBe('in_sync');
    // The log saw the daemon's calls (its lock's release among them), never the cluster's delete.
    expect(requests).toContain('DELETE /v1/apply-lock');
    expect(requests.filter((r) => r.startsWith('DELETE /v1/clusters'))).toEqual([]);
    expect((await served.embedded.listClusters()).map((c) => c.name).sort()).toEqual(['o1', 'o2']);
  });
});
