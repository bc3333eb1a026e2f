import fs from 'node:fs';
const { plainScalarValue } = await import('/work/main/dist/manifests/yaml.js');
const { parseSimpleYaml } = await import('/work/main/.scratch/ys.mjs');
const { LIMITS } = await import('/work/main/dist/manifests/limits.js');
for (const f of process.argv.slice(2)) { try { const r = parseSimpleYaml(fs.readFileSync(f,'utf8'), LIMITS, plainScalarValue); console.log(r ? 'ok' : 'null', f); } catch (e) { const l = e.stack.split('\n')[1].trim(); const m = /ys.mjs:(\d+)/.exec(l); console.log('giveup', m && m[1], l.split(' ')[1], f); } }
