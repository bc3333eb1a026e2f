/**
 * Stands in for the official `flyte` CLI (which cannot be installed here): records its argv
 * (and the content of a `--file`) as one JSON line in $FAKE_FLYTE_LOG, then does what the
 * command says through poolsync's REST API at $FAKE_FLYTE_API. $FAKE_FLYTE_FAIL makes it fail.
 * Written next to a shell wrapper by `installFakeFlyte`, so it runs as a real program.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { load } from 'js-yaml';

const argv = process.argv.slice(2);
const fileAt = argv.indexOf('--file');
const file = fileAt >= 0 ? readFileSync(argv[fileAt + 1]!, 'utf8') : null;
appendFileSync(process.env.FAKE_FLYTE_LOG!, `${JSON.stringify({ argv, file })}\n`);
if (process.env.FAKE_FLYTE_FAIL) {
  process.stderr.write(`Error: ${process.env.FAKE_FLYTE_FAIL}\n`);
  process.exit(3);
}
const api = process.env.FAKE_FLYTE_API!;
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    process.stderr.write(`Error: ${res.status} ${await res.text()}\n`);
    process.exit(1);
  }
};
const [verb, noun, name] = argv;
if (verb === 'create' && noun === 'cluster-pool') {
  // The test backend's file is { name, contract } (JSON); the union backend's is Union's
  // cluster-pool YAML, { name, config }.
  const doc = load(file!) as { name: string; contract?: object; config?: Record<string, unknown> };
  const contract = doc.contract ?? { image_registry: null, ...doc.config };
  await post('/v1/pools', { name: doc.name, contract });
  process.stdout.write(`cluster pool ${name} created\n`);
} else if (verb === 'create' && noun === 'cluster') {
  await post('/v1/clusters', { name, pool: argv[argv.indexOf('--pool') + 1] });
  process.stdout.write(`cluster ${name} registered\n`);
} else {
  process.stderr.write(`fake flyte: unknown command ${argv.join(' ')}\n`);
  process.exit(2);
}
