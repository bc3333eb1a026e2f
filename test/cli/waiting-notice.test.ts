/**
 * A control plane that accepts calls and never answers them held `plan` and `apply` silent for
 * the whole call deadline (60 s by default): they now say, once, what they wait for and for how
 * long at most. Against a real socket: a server that answers what opens the control plane
 * (GET /v1/capabilities, from a served embedded one) and holds every other call.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';

const REPO = 'examples/config-repo';

/** The held calls' paths, and the server's URL; closed when the test ends. */
async function answeringOnlyCapabilities(): Promise<{ url: string; held: string[] }> {
  const real = await servedControlPlane();
  const held: string[] = [];
  const waiting: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/v1/capabilities') {
      held.push(req.url ?? '');
      waiting.push(res);
      return;
    }
    void fetch(`${real.url}${req.url}`).then(async (answer) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const res of waiting) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held };
}

describe('a control plane that never answers', () => {
  const commands: Record<string, string[]> = {
    plan: ['plan', REPO, '--output', 'json'],
    apply: ['apply', REPO, '--auto-approve', '--output', 'json'],
  };
  it.each(Object.keys(commands))(
    '%s says once on stderr what it waits for, and when it gives up',
    async (command) => {
      const { url, held } = await answeringOnlyCapabilities();
      // The notice comes after one read timeout (1s here), each call's deadline (3s) later:
      // timers of one process, fired in that order.
      const r = await runInProcess(
        [
          ...commands[command]!,
          '--control-plane',
          url,
          '--read-timeout',
          '1s',
          '--call-timeout',
          '3s',
          '--state-dir',
          tempFolder('poolsync-state-'),
        ],
        { PATH: process.env.PATH, NO_COLOR: '1' },
      );
      expect(r.code).toBe(1);
      // plan waits on several calls at once (its lists), and says so once.
      expect(new Set(held).size).toBeGreaterThan(command === 'plan' ? 1 : 0);
      const waits = r.stderr.split('\n').filter((l) => l.startsWith('Waiting'));
      expect(waits).toEqual([
        `Waiting for ${url}: no answer for 1.0s; giving up after 3.0s (--call-timeout); Ctrl-C stops.`,
      ]);
      expect(r.stdout).not.toContain('Waiting');
      expect(r.stderr).toMatch(/no complete answer within 3\.0s/);
    },
  );
});
