const { HttpControlPlane } = await import('/work/main/dist/controlplane/rest/http-client.js');
const cp = new HttpControlPlane('http://127.0.0.1:17480', { connections: Number(process.argv[2] ?? 8) });
const P = Number(process.argv[2] ?? 8), N = Number(process.argv[3] ?? 400);
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: P }, async () => {
  while (next < N) { const i = next++; await cp.getPool('default').catch(e => { throw e; }); }
}));
const t1 = performance.now();
console.log('GET x', N, 'P', P, ((t1 - t0)).toFixed(0), 'ms', ((t1 - t0) / (N / P)).toFixed(2), 'ms per round');
await cp.close();
