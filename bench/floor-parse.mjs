// The floor of the targets table (bench/README.md): a whole Node process that reads every
// manifest file of a generated repository and parses it with js-yaml's loadAll, nothing more.
// Plain JavaScript, so it starts like `node dist/cli/main.js` does (no TypeScript loader).
// It loads js-yaml's CommonJS build: in Node 20 it parses the same files ~1.5× faster than
// the ESM build `import 'js-yaml'` resolves to, and a floor is the fastest known way.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { loadAll } = createRequire(import.meta.url)('js-yaml');
const repo = process.argv[2];
let documents = 0;
for (const folder of ['pools', 'clusters', 'queues', 'assignments']) {
  for (const file of readdirSync(join(repo, folder)).sort())
    documents += loadAll(readFileSync(join(repo, folder, file), 'utf8')).length;
}
if (documents === 0) throw new Error(`no documents under ${repo}`);
