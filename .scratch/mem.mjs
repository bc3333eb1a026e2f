const { loadRepository } = await import('/work/main/dist/manifests/index.js');
gc(); const before = process.memoryUsage().heapUsed;
const r = await loadRepository('/tmp/org10k', {});
gc(); const after = process.memoryUsage().heapUsed;
console.log('heap delta MB', ((after-before)/1048576).toFixed(1), r.valid);
