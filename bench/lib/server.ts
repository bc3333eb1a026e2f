/**
 * A control plane served over HTTP for the benchmark: `poolsync control-plane serve
 * --simulate` in its own process (so its CPU does not share a thread with the client being
 * measured), with latency injected through PUT /v1/sim/faults. Round trips are counted from
 * the server's own request log (one JSON line per request on stderr).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Pool, request } from 'undici';
import type { Cli } from './cli.js';

export interface BenchServer {
  url: string;
  /** Requests answered so far, sim endpoints excluded. */
  requests(): number;
  /** Server-side duration (ms, injected latency included) of every request counted so far. */
  durations(): number[];
  /**
   * Wall time from the arrival of the first write (non-GET) request to the answer of the last
   * one, on the server's clock, counting requests from index `since` on: the apply phase
   * without process startup, loading, live reads and planning. Null without writes.
   */
  writeWindowMs(since?: number): number | null;
  setLatency(ms: number): Promise<void>;
  /**
   * The wire's own round trip at `parallelism` calls in flight: `requests` bare GETs of one
   * pool, back to back on each connection; the median time per call (ms). What any client of
   * this server pays per call on top of nothing, so a floor for an apply's calls.
   */
  probeRoundTrip(parallelism: number, requests: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startServer(cli: Cli, statePath: string): Promise<BenchServer> {
  const child: ChildProcess = spawn(
    cli.command,
    [
      ...cli.prefix,
      'control-plane',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--state',
      statePath,
      '--simulate',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let count = 0;
  const durations: number[] = [];
  const writes: Array<{ index: number; start: number; end: number }> = [];
  let tail = '';
  let errText = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const text = tail + chunk;
    const lines = text.split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"msg":"request"') && !line.includes('"path":"/v1/sim/')) {
        count++;
        const ms = /"ms":([\d.]+)/.exec(line);
        // ISO 8601 since `control-plane serve` logs as the daemon does (epoch ms before).
        const stamp = /"time":(?:"([^"]+)"|(\d+))/.exec(line);
        const time = stamp
          ? stamp[1] !== undefined
            ? Date.parse(stamp[1])
            : Number(stamp[2])
          : NaN;
        if (ms) durations.push(Number(ms[1]));
        // Steps' writes only: the apply lock is taken before the plan is made (under it) and
        // released after the last step, so its calls would put planning into the window.
        const step = !line.includes('"method":"GET"') && !line.includes('"path":"/v1/apply-lock');
        if (ms && Number.isFinite(time) && step) {
          writes.push({ index: count - 1, start: time - Number(ms[1]), end: time });
        }
      } else if (errText.length < 4000) errText += `${line}\n`;
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /control plane listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!.replace(/\/$/, ''));
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(new Error(`control-plane serve exited with ${code}:\n${errText}`)),
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return {
    url,
    requests: () => count,
    durations: () => durations,
    writeWindowMs(since = 0) {
      let first = Infinity;
      let last = -Infinity;
      for (const w of writes) {
        if (w.index < since) continue;
        first = Math.min(first, w.start);
        last = Math.max(last, w.end);
      }
      return last >= first ? last - first : null;
    },
    async setLatency(ms) {
      const res = await request(`${url}/v1/sim/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latency_ms: ms }),
      });
      const body = await res.body.text();
      if (res.statusCode !== 200)
        throw new Error(`PUT /v1/sim/faults answered ${res.statusCode}: ${body}`);
    },
    async probeRoundTrip(parallelism, requests) {
      const pool = new Pool(url, { connections: parallelism });
      const before = count;
      try {
        let left = requests;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: parallelism }, async () => {
            while (left > 0) {
              left--;
              const res = await pool.request({ method: 'GET', path: '/v1/pools/default' });
              await res.body.text();
            }
          }),
        );
        return (performance.now() - started) / (requests / parallelism);
      } finally {
        await pool.close();
        // Probe requests are not the apply's: keep them out of its counts.
        await new Promise((r) => setTimeout(r, 100));
        const probed = count - before;
        count -= probed;
        durations.splice(durations.length - probed, probed);
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
