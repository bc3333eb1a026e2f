const { loadRepository } = await import('/work/main/dist/manifests/index.js');
const { openControlPlane } = await import('/work/main/dist/controlplane/open.js');
const { readLiveState } = await import('/work/main/dist/controlplane/types.js');
const { planForBackend } = await import('/work/main/dist/plan/backend.js');
const loaded = await loadRepository('/tmp/org10k', { cacheDir: null });
const cp = await openControlPlane('file:/tmp/org10k-cp.json', { readOnly: true });
const live = await readLiveState(cp);
const out = [];
for (let i = 0; i < 25; i++) { const t = performance.now(); planForBackend(loaded.desired, live, cp.backend); out.push(performance.now() - t); }
const first = out[0]; const rest = out.slice(1).sort((a,b)=>a-b);
console.log('plan first', first.toFixed(0), 'warm median', rest[12].toFixed(0), 'min', rest[0].toFixed(0));
