import { Pool, RetryAgent } from 'undici';
const P = Number(process.argv[2] ?? 8), N = Number(process.argv[3] ?? 400), mode = process.argv[4] ?? 'pool';
const pool = new Pool('http://127.0.0.1:17480', { connections: P });
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: P }, async () => {
  while (next < N) { next++;
    const d = mode === 'retry' ? new RetryAgent(pool, {}) : pool;
    const r = await d.request({ method: 'GET', path: '/v1/pools/default', headers: { accept: 'application/json' } });
    await r.body.json(); }
}));
const t1 = performance.now();
console.log(mode, 'P', P, ((t1 - t0) / (N / P)).toFixed(2), 'ms per round');
await pool.close();
