/**
 * A server slower than the read timeout: every attempt is cut by --read-timeout, so the call's
 * deadline said "raise --call-timeout to wait longer", which only added attempts cut the same
 * way (a hand-tester followed it, 5m, and waited 1m50s for the same failure). Its words now name
 * --read-timeout, and --call-timeout only for an answer slower than the deadline itself. Real
 * loopback sockets; the backoff waits on a manual clock, so the test, not the machine, says
 * whether the deadline ends a wait or an attempt.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import type { TransportLimits } from '../../src/util/transport-limits.js';
import { listenLoopback } from '../support/forwarding.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';

const limits: TransportLimits = {
  connectTimeoutMs: 60_000,
  readTimeoutMs: 200,
  callTimeoutMs: 1_500,
  maxResponseBytes: 1024 * 1024,
};

/** A server answering each request `{}` only after `latencyMs`; its timers end with the test. */
async function slowServer(latencyMs: number): Promise<{ url: string; asked: () => number }> {
  const timers = new Set<NodeJS.Timeout>();
  let asked = 0;
  const server = await listenLoopback((_req, res) => {
    asked++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }, latencyMs);
    timers.add(timer);
  });
  onTestFinished(async () => {
    for (const t of timers) clearTimeout(t);
    await server.close();
  });
  return { url: `http://127.0.0.1:${server.port}`, asked: () => asked };
}

async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e as Error,
  );
  return err.message;
}

const DEADLINE = String.raw`no complete answer within 1\.5s, the deadline of one call with its retries \(--call-timeout, env POOLSYNC_CALL_TIMEOUT\)`;
const RAISE = String.raw`raise --read-timeout past the time the server takes to answer \(and --call-timeout above that if it is 1\.5s or more\)$`;

describe('a server slower than the read timeout: the deadline names --read-timeout', () => {
  it('the deadline ends an attempt after the read timeout ended each before it', async () => {
    const s = await slowServer(60_000);
    const clock = new ManualClock();
    const cp = new HttpControlPlane(s.url, {
      limits,
      clock,
      maxRetries: 8,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 1,
    });
    onTestFinished(() => cp.close());
    const said = failure(cp.capabilityCalls.capabilities());
    // The first attempt was cut by the read timeout: the retry waits on the manual clock.
    await until('the retry to wait', () => clock.sleeping > 0);
    // A timer made after the deadline's, as long, fires after it: the deadline has ended the call.
    await new Promise((resolve) => setTimeout(resolve, limits.callTimeoutMs));
    clock.advance(1);
    expect(await said).toMatch(
      new RegExp(
        String.raw`^GET ${s.url}/v1/capabilities: ${DEADLINE}: none of its 2 attempts got a complete answer: the read timeout of 200ms \(--read-timeout, env POOLSYNC_READ_TIMEOUT\) cut each before the last, and this deadline the last; ${RAISE}`,
      ),
    );
    expect(s.asked()).toBe(1);
  });

  it('no retry fits in the deadline after the read timeout ended each attempt', async () => {
    const s = await slowServer(60_000);
    // Each wait longer than the deadline: the first attempt is the last.
    const cp = new HttpControlPlane(s.url, {
      limits,
      maxRetries: 8,
      minRetryDelayMs: 10_000,
      maxRetryDelayMs: 10_000,
    });
    onTestFinished(() => cp.close());
    const said = await failure(cp.capabilityCalls.capabilities());
    expect(said).toMatch(
      new RegExp(
        String.raw`^GET ${s.url}/v1/capabilities: the answer's headers did not complete within 200ms .*\(1 attempt\); stopped: ${DEADLINE}: its one attempt got no complete answer: the read timeout of 200ms \(--read-timeout, env POOLSYNC_READ_TIMEOUT\) cut it; ${RAISE}`,
      ),
    );
    expect(said).not.toContain('to wait longer');
  });
});

describe('plan and the daemon say it in the same words', () => {
  const network = ['--read-timeout', '200ms', '--call-timeout', '1500ms'];
  const COMMANDS: Record<string, (url: string) => string[]> = {
    plan: (url) => ['plan', 'examples/config-repo', '--control-plane', url, ...network],
    daemon: (url) => [
      'daemon',
      '--once',
      '--watch',
      'examples/config-repo',
      '--control-plane',
      url,
      '--state-dir',
      tempFolder('poolsync-state-'),
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'error',
      ...network,
    ],
  };
  it.each(Object.keys(COMMANDS))('%s', async (command) => {
    const s = await slowServer(60_000);
    const r = await runInProcess(COMMANDS[command]!(s.url), {
      PATH: process.env.PATH,
      HOME: tempFolder('poolsync-home-'),
      NO_COLOR: '1',
    });
    const context = `${r.stderr}${r.stdout}`;
    expect(r.code, context).toBe(1);
    // Whether the deadline ended an attempt or a wait is the machine's: both name --read-timeout.
    expect(context).toMatch(
      new RegExp(
        String.raw`${DEADLINE}: none of its \d+ attempts got a complete answer: the read timeout of 200ms \(--read-timeout, env POOLSYNC_READ_TIMEOUT\) cut each( before the last, and this deadline the last)?; ${RAISE.slice(0, -1)}`,
      ),
    );
    expect(context).not.toContain('to wait longer');
  });
});
