/**
 * A read timeout is the server's silence, not this process's: bytes that waited in the socket
 * while this process could not run past the timeout (a loaded machine) are read before the
 * timeout is decided (util/bounded-request.ts; the Lease and OAuth2 clients). The server runs in
 * a child process, so it keeps sending while this one is blocked.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it, onTestFinished } from 'vitest';
import { boundedRequest } from '../../src/util/bounded-request.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';

// A byte every 100 ms, 30 in all; `sent` once the first is written.
const TRICKLE = `
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let n = 0;
  const t = setInterval(() => {
    res.write('.');
    if (++n === 1) console.log('sent');
    if (n === 30) clearInterval(t), res.end();
  }, 100);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

it('bytes that arrived while this process was blocked past the read timeout are no silence', async () => {
  const child = spawn(process.execPath, ['-e', TRICKLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill());
  const lines = child.stdout.setEncoding('utf8');
  const [port] = (await once(lines, 'data')) as [string];
  const sent = once(lines, 'data');
  const answer = boundedRequest(
    new URL(`http://127.0.0.1:${port.trim()}/`),
    { method: 'GET', headers: {} },
    { ...DEFAULT_LIMITS, readTimeoutMs: 1_000 },
  );
  await sent;
  // Blocked past the read timeout, as a loaded machine stalls a process; the server goes on.
  const until = Date.now() + 1_500;
  while (Date.now() < until);
  expect((await answer).body.toString()).toBe('.'.repeat(30));
});
