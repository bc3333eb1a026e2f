const { loadRepository } = await import('/work/main/dist/manifests/index.js');
const { openControlPlane } = await import('/work/main/dist/controlplane/open.js');
const { readLiveState } = await import('/work/main/dist/controlplane/types.js');
const { planForBackend } = await import('/work/main/dist/plan/backend.js');
const loaded = await loadRepository('/tmp/org10k', { cacheDir: null });
const cp = await openControlPlane('file:/tmp/org10k-cp.json', { readOnly: true });
const live = await readLiveState(cp);
const out = [];
for (let i = 0; i < Number(process.env.ITER ?? 4); i++) { const t = performance.now(); planForBackend(loaded.desired, live, cp.backend); out.push((performance.now() - t).toFixed(0)); }
const l2 = []; for (let i = 0; i < 3; i++) { const t = performance.now(); await loadRepository('/tmp/org10k', { cacheDir: null }); l2.push((performance.now() - t).toFixed(0)); }
console.log('plan runs', out.join(' '), 'load runs', l2.join(' '));
