import fs from 'node:fs'; import path from 'node:path'; import { isDeepStrictEqual } from 'node:util';
const { parseYamlFull, plainScalarValue, LineIndex } = await import('/work/main/dist/manifests/yaml.js');
const { parseSimpleYaml } = await import('/work/main/dist/manifests/yaml-simple.js');
const { LIMITS } = await import('/work/main/dist/manifests/limits.js');
const files = [];
function walk(d){ for (const e of fs.readdirSync(d,{withFileTypes:true})) { const p=path.join(d,e.name); if(e.isDirectory()) { if(!['node_modules','.git','dist'].includes(e.name)) walk(p);} else if(/\.ya?ml$/.test(e.name)) files.push(p); } }
for (const d of process.argv.slice(2)) walk(d);
let fast=0, same=0, diff=0, gaveUp=0; const gaveUpFiles=[];
for (const f of files) {
  const text = fs.readFileSync(f,'utf8');
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const got = parseSimpleYaml(source, LIMITS, plainScalarValue);
  if (!got) { gaveUp++; gaveUpFiles.push(f); continue; }
  const full = parseYamlFull(text);
  if (isDeepStrictEqual(got, full)) { same++; continue; }
  diff++;
  if (diff < 6) { console.log('DIFF', f); console.log(JSON.stringify(got).slice(0,1500)); console.log(JSON.stringify(full).slice(0,1500)); }
}
console.log({files: files.length, same, diff, gaveUp});
if (process.env.SHOW) console.log(gaveUpFiles.join('\n'));
