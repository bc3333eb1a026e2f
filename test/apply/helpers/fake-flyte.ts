/**
 * Stands in for the official `flyte` CLI (which cannot be installed here), as strict as the
 * real one about what a runbook must get right:
 * - root options before the command, as flyte-sdk's click group takes them (`--endpoint`,
 *   `--org`, `--insecure`); with them, the API key from FLYTE_API_KEY must be for that endpoint
 *   and org (FAKE_FLYTE_REQUIRE_TARGET=1 makes them mandatory);
 * - the commands that ask for confirmation (`delete …`, `update cluster …`) without `--yes`
 *   prompt on stdin, and with no terminal (stdin closed) abort with exit 1, as click does;
 * - it records its argv, the FLYTE_API_KEY it was given (and the content of a `--file`) as one
 *   JSON line in $FAKE_FLYTE_LOG, then does what the command says through poolsync's REST API
 *   at $FAKE_FLYTE_API. $FAKE_FLYTE_FAIL makes it fail.
 * Written next to a shell wrapper by `installFakeFlyte`, so it runs as a real program.
 */
import { appendFileSync, readFileSync, readSync } from 'node:fs';
import { load } from 'js-yaml';

const all = process.argv.slice(2);
const root: { endpoint?: string; org?: string; insecure?: boolean } = {};
let i = 0;
for (; i < all.length && all[i]!.startsWith('--'); i++) {
  if (all[i] === '--endpoint') root.endpoint = all[++i];
  else if (all[i] === '--org') root.org = all[++i];
  else if (all[i] === '--insecure') root.insecure = true;
  else fail(2, `Error: No such option: ${all[i]}`);
}
const argv = all.slice(i);
const fileAt = argv.indexOf('--file');
const file = fileAt >= 0 ? readFileSync(argv[fileAt + 1]!, 'utf8') : null;
const apiKey = process.env.FLYTE_API_KEY ?? null;
appendFileSync(
  process.env.FAKE_FLYTE_LOG!,
  `${JSON.stringify({ argv: all, command: argv, root, apiKey, file })}\n`,
);

function fail(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (process.env.FAKE_FLYTE_FAIL) fail(3, `Error: ${process.env.FAKE_FLYTE_FAIL}`);
if (process.env.FAKE_FLYTE_REQUIRE_TARGET && (!root.endpoint || !root.org))
  fail(
    1,
    'Error: the command does not name --endpoint and --org: it would act on the org of the local config',
  );
if (root.endpoint || apiKey) {
  if (!apiKey) fail(1, 'Error: no FLYTE_API_KEY: the CLI would start an interactive (pkce) login');
  const decoded = Buffer.from(apiKey, 'base64').toString('utf8');
  const endpoint = root.endpoint?.replace(/^dns:\/\/\//, '');
  if (endpoint && !decoded.startsWith(`${endpoint}:`))
    fail(1, `Error: --endpoint ${root.endpoint} is not the endpoint of FLYTE_API_KEY`);
  if (root.org && root.org !== decoded.split(':').pop())
    fail(1, `Error: --org ${root.org} is not the org of FLYTE_API_KEY`);
}

const [verb, noun, name] = argv;
const prompts = verb === 'delete' || (verb === 'update' && noun === 'cluster');
if (prompts && !argv.includes('--yes')) {
  // click.confirm: reads a line from stdin; at end of input it aborts.
  process.stdout.write(`Are you sure you want to ${verb} ${noun} ${name}? [y/N]: `);
  const buf = Buffer.alloc(16);
  let n = 0;
  try {
    n = readSync(0, buf, 0, buf.length, null);
  } catch {
    n = 0;
  }
  if (!/^y/i.test(buf.subarray(0, n).toString())) fail(1, '\nAborted!');
}

const api = process.env.FAKE_FLYTE_API!;
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) fail(1, `Error: ${res.status} ${await res.text()}`);
};
const option = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

if (verb === 'create' && noun === 'cluster-pool') {
  // The test backend's file is { name, contract } (JSON); the union backend's is Union's
  // cluster-pool YAML, { name, config }.
  const doc = load(file!) as { name: string; contract?: object; config?: Record<string, unknown> };
  const contract = doc.contract ?? { image_registry: null, ...doc.config };
  await call('POST', '/v1/pools', { name: doc.name, contract });
  process.stdout.write(`cluster pool ${name} created\n`);
} else if (verb === 'create' && noun === 'cluster') {
  await call('POST', '/v1/clusters', { name, pool: option('--pool') });
  process.stdout.write(`cluster ${name} registered\n`);
} else if (verb === 'update' && noun === 'cluster' && option('--pool')) {
  await call('POST', `/v1/clusters/${name}/move`, { pool: option('--pool') });
  process.stdout.write(`cluster ${name} moved to pool ${option('--pool')}\n`);
} else if (verb === 'update' && noun === 'cluster' && argv.includes('--drain')) {
  await call('PATCH', `/v1/clusters/${name}`, { enabled: false });
  process.stdout.write(`cluster ${name} drained\n`);
} else if (verb === 'update' && noun === 'cluster' && argv.includes('--activate')) {
  await call('PATCH', `/v1/clusters/${name}`, { enabled: true });
  process.stdout.write(`cluster ${name} activated\n`);
} else if (
  verb === 'delete' &&
  (noun === 'cluster-pool' || noun === 'queue' || noun === 'cluster')
) {
  const kind = noun === 'cluster-pool' ? 'pools' : `${noun}s`;
  await call('DELETE', `/v1/${kind}/${name}`);
  process.stdout.write(`${noun} ${name} deleted\n`);
} else {
  fail(2, `fake flyte: unknown command ${argv.join(' ')}`);
}
