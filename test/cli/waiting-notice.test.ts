/**
 * A control plane that accepts calls and never answers them held `plan` and `apply` silent for
 * the whole call deadline (60 s by default): they now say, once, what they wait for and for how
 * long at most. Against a real socket of each backend's protocol: for REST a server that answers
 * what opens the control plane (GET /v1/capabilities, from a served embedded one) and holds every
 * other call; for Union its stand-in (OAuth2 answered) holding every Connect and gRPC call; for
 * flyteadmin an HTTP server holding every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Interceptor } from '@connectrpc/connect';
import { describe, expect, it, onTestFinished } from 'vitest';
import { apiKey, startUnionServer } from '../controlplane/union/helpers.js';
import { runInProcess, type CliResult } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';
import { networkOf } from '../../src/cli/options.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';

/** An Io output that keeps each write. */
const memoryStream = (into: string[]) => ({ write: (text: string) => (into.push(text), true) });

const REPO = 'examples/config-repo';

/** An HTTP server holding each request `answers` does not take; closed when the test ends. */
async function holdingServer(
  answers: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Promise<{ url: string; held: string[] }> {
  const held: string[] = [];
  const waiting: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (answers(req, res)) return;
    held.push(req.url ?? '');
    waiting.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const res of waiting) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held };
}

/** The held calls' paths, and the server's URL. */
async function answeringOnlyCapabilities(): Promise<{ url: string; held: string[] }> {
  const real = await servedControlPlane();
  return holdingServer((req, res) => {
    if (req.url !== '/v1/capabilities') return false;
    void fetch(`${real.url}${req.url}`).then(async (answer) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(await answer.text());
    });
    return true;
  });
}

/**
 * `args` with a 1 s read timeout and a 3 s call deadline: the notice comes after one read
 * timeout, each call's deadline later, timers of one process fired in that order.
 */
function waitingRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const limits = ['--read-timeout', '1s', '--call-timeout', '3s'];
  const state = ['--state-dir', tempFolder('poolsync-state-')];
  return runInProcess([...args, ...limits, ...state], {
    ...env,
    PATH: process.env.PATH,
    NO_COLOR: '1',
  });
}

/** Said once on stderr, naming `url`, then the deadline's error, without a stack trace. */
function expectToldOnce(r: CliResult, url: string): void {
  expect(r.code, r.stderr).toBe(1);
  const waits = r.stderr.split('\n').filter((l) => l.startsWith('Waiting'));
  expect(waits).toEqual([
    `Waiting for ${url}: no answer for 1.0s; giving up after 3.0s (--call-timeout); Ctrl-C stops.`,
  ]);
  expect(r.stdout).not.toContain('Waiting');
  expect(r.stderr).toMatch(/no complete answer within 3\.0s/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
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
      const r = await waitingRun([...commands[command]!, '--control-plane', url]);
      // plan waits on several calls at once (its lists), and says so once.
      expect(new Set(held).size).toBeGreaterThan(command === 'plan' ? 1 : 0);
      expectToldOnce(r, url);
    },
  );

  it.each(['connect', 'grpc'] as const)(
    'Union (%s): plan says once what it waits for, and when it gives up',
    async (protocol) => {
      let held = 0;
      // Every call is taken and never answered, until the client gives up on it.
      const hold: Interceptor = () => (req) => {
        held++;
        return new Promise((_, reject) => req.signal.addEventListener('abort', reject));
      };
      const union = await startUnionServer({ interceptors: [hold] });
      onTestFinished(() => union.close());
      const r = await waitingRun(['plan', REPO, '--control-plane', union.url(protocol)], {
        POOLSYNC_UNION_API_KEY: apiKey(union.host),
      });
      expect(held).toBeGreaterThan(1);
      expectToldOnce(r, `http://${union.host}`);
    },
  );

  it('Union whose OAuth2 discovery is never answered: plan says it too', async () => {
    const { url, held } = await holdingServer();
    const host = url.slice('http://'.length);
    const r = await waitingRun(['plan', REPO, '--control-plane', `union+${url}`], {
      POOLSYNC_UNION_API_KEY: apiKey(host),
    });
    expect(held[0]).toMatch(/^\/\.well-known\//);
    expectToldOnce(r, url);
  });

  it('flyteadmin: plan says once what it waits for, and when it gives up', async () => {
    const { url, held } = await holdingServer();
    const r = await waitingRun(['plan', REPO, '--control-plane', `flyteadmin+${url}`]);
    expect(held.length).toBeGreaterThan(0);
    expectToldOnce(r, url);
  });
});

describe('the notice names what ends the wait', () => {
  it('a call not retried (check, --max-retries 0): its read timeout, not the call deadline', async () => {
    const { url } = await holdingServer();
    const said: string[] = [];
    const { limits, onWait } = networkOf({}, { env: {}, stderr: memoryStream(said) });
    const clock = new ManualClock();
    const cp = new FlyteadminControlPlane(url, { limits, onWait, clock, maxRetries: 0 });
    onTestFinished(() => cp.close());
    const listing = cp.listExecutionClusterLabels().catch((err: unknown) => err);
    // The request is held by the server before the notice's clock moves.
    await until('the request to be held', () => clock.sleeping > 0);
    clock.advance(5_000);
    await until('the notice', () => said.length > 0);
    expect(said).toEqual([
      `Waiting for ${url}: no answer for 5.0s; giving up after 10s (--read-timeout); Ctrl-C stops.\n`,
    ]);
    await cp.close();
    await listing;
  });

  it('a server gone after answering: its refused connections are said, with the retries left', async () => {
    const real = await servedControlPlane();
    let server: Server | undefined;
    // A REST control plane that answers until its first list, then stops listening: the calls
    // in flight are cut, and each retry finds nothing listening.
    const gone = await new Promise<string>((resolve) => {
      let listed = false;
      server = createServer((req, res) => {
        void fetch(`${real.url}${req.url}`).then(async (answer) => {
          const text = await answer.text();
          if (listed) return void res.destroy();
          listed = req.url !== '/v1/capabilities';
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(text, () => {
            if (!listed) return;
            server!.close();
            server!.closeAllConnections();
          });
        });
      });
      server.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`),
      );
    });
    onTestFinished(() => void server?.closeAllConnections());
    const r = await waitingRun([
      'plan',
      REPO,
      '--output',
      'json',
      '--control-plane',
      gone,
      '--max-retries',
      '100',
    ]);
    expect(r.code, r.stderr).toBe(1);
    const waits = r.stderr.split('\n').filter((l) => l.startsWith('Waiting'));
    expect(waits).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Waiting for ${gone}: connection refused \\(ECONNREFUSED\\), retrying \\(attempt \\d+ of at most 101, --max-retries\\); giving up after 3\\.0s \\(--call-timeout\\) at the latest; Ctrl-C stops\\.$`,
        ),
      ),
    ]);
    expect(r.stderr).not.toContain('no answer for');
  });
});
