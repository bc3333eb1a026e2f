import fs from 'node:fs'; import path from 'node:path';
import { parseEvents, loadAll, CORE_SCHEMA } from 'js-yaml';
const { parseYamlFile } = await import('/work/main/dist/manifests/yaml.js');
const { readDocument } = await import('/work/main/dist/manifests/documents.js');
const dir = process.argv[2];
const files = [];
(function walk(d){ for (const e of fs.readdirSync(d,{withFileTypes:true})) { const p=path.join(d,e.name); if(e.isDirectory()&&e.name!=='.git') walk(p); else if(/\.ya?ml$/.test(e.name)) files.push([p, fs.readFileSync(p,'utf8')]); } })(dir);
const mode = process.argv[3];
const t0 = performance.now();
let n=0;
for (const [f, text] of files) {
  if (mode==='events') n+=parseEvents(text).length;
  else if (mode==='loadAll') n+=loadAll(text).length;
  else if (mode==='parse') n+=parseYamlFile(text).documents.length;
  else if (mode==='read') { for (const d of parseYamlFile(text).documents) { readDocument(f, d.root); n++; } }
}
console.log(mode, (performance.now()-t0).toFixed(0), 'ms', n);
