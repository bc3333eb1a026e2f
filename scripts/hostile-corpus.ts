/**
 * The hostile corpus (docs/security.md, issue 14): config repositories built to break a
 * manifest loader. Each one must be refused by `validate` with exit 1 and positioned errors,
 * never a crash, a stack trace, a hang or unbounded memory. The test suite generates it in
 * memory (test/manifests/hostile-corpus.test.ts); this script also writes it to disk:
 *
 *   node --import tsx scripts/hostile-corpus.ts OUT_DIR     # one folder per repository
 *
 * Families: amplification by bytes (aliases of large scalars), by keys, by depth and by files;
 * control characters in file names, keys and values; every YAML tag; URL userinfo forms in
 * URL fields; broken syntax and encodings; links, FIFOs and folders where files are read or
 * written (poolsync.yaml, render targets).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LIMITS } from '../src/manifests/limits.js';

export interface HostileRepo {
  /** Unique, file-system safe. */
  name: string;
  family: string;
  /** Relative path → content. */
  files: Record<string, string | Uint8Array>;
  /** Relative path → the target of a symbolic link made there (family `links`). */
  links?: Record<string, string>;
  /** Relative paths of FIFOs (named pipes) to make. */
  fifos?: string[];
}

const HEAD = (kind: string, name: string): string =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;
const POOL_SPEC =
  'spec:\n  object_store_ref:\n    uri: s3://corpus/m\n  secret_store:\n    type: VAULT\n    locator: x\n';
const QUEUE_SPEC = 'spec:\n  run_concurrency: 1\n  action_concurrency: 1\n';

function bytesAmplification(): HostileRepo[] {
  const out: HostileRepo[] = [];
  // One anchored scalar of `size` characters aliased `copies` times (the issue's case is 200 KB x 4,000).
  for (const size of [2_000, 20_000, 100_000, 200_000, 500_000]) {
    for (const copies of [600, 4_000, 9_000]) {
      if (size * copies <= 1024 * 1024) continue; // under the limit: not hostile
      const lines = [`    a0: &big ${'x'.repeat(size)}`];
      for (let i = 1; i < copies; i++) lines.push(`    a${i}: *big`);
      const text = `${HEAD('ClusterPool', 'bomb').replace('metadata:\n  name: bomb\n', 'metadata:\n  name: bomb\n  annotations:\n')}${lines.join('\n')}\n${POOL_SPEC}`;
      if (text.length > 1024 * 1024) continue;
      out.push({ name: `bytes-${size}x${copies}`, family: 'bytes', files: { 'bomb.yaml': text } });
    }
  }
  // Aliases in sequences, in flow style, in keys' values, across several documents of a file.
  for (const docs of [1, 5, 40]) {
    const doc = `a: &s ${'y'.repeat(30_000)}\nb: [${Array.from({ length: 40 }, () => '*s').join(', ')}]\n`;
    out.push({
      name: `bytes-flow-docs-${docs}`,
      family: 'bytes',
      files: { 'f.yaml': Array.from({ length: docs }, () => doc).join('---\n') },
    });
  }
  // Many files, each under the per-document limit, adding up past the folder budget.
  const mid = `a: &s ${'z'.repeat(20_000)}\nb: [${Array.from({ length: 50 }, () => '*s').join(', ')}]\n`;
  const files: Record<string, string> = {};
  for (let f = 0; f < 8; f++)
    files[`m${f}.yaml`] = Array.from({ length: 10 }, () => mid).join('---\n');
  out.push({ name: 'bytes-folder-budget', family: 'bytes', files });
  // Billion laughs: nodes, not bytes.
  for (const width of [5, 10, 20]) {
    for (const levels of [6, 9]) {
      const lines = [`l0: &l0 [${Array.from({ length: width }, () => 'lol').join(', ')}]`];
      for (let i = 1; i < levels; i++)
        lines.push(
          `l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`,
        );
      out.push({
        name: `laughs-${width}w${levels}`,
        family: 'bytes',
        files: { 'lol.yaml': lines.join('\n') + '\n' },
      });
    }
  }
  return out;
}

function keysAmplification(): HostileRepo[] {
  const out: HostileRepo[] = [];
  for (const n of [1_000, 10_000, 40_000]) {
    const extra = Array.from({ length: n }, (_, i) => `  k${i}: ${i}`).join('\n');
    out.push({
      name: `keys-unknown-${n}`,
      family: 'keys',
      files: { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}${extra}\n` },
    });
    const dup = Array.from({ length: n }, () => '  same: 1').join('\n');
    out.push({ name: `keys-duplicate-${n}`, family: 'keys', files: { 'd.yaml': `a:\n${dup}\n` } });
  }
  for (const n of [1_000, 100_000]) {
    const sel = Array.from({ length: n }, (_, i) => `c${i}`).join(', ');
    out.push({
      name: `keys-selector-${n}`,
      family: 'keys',
      files: { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}  clusters: [${sel}]\n` },
    });
  }
  for (const n of [500, 5_000]) {
    const ann = Array.from({ length: n }, (_, i) => `    k${i}: v`).join('\n');
    out.push({
      name: `keys-annotations-${n}-bad-name`,
      family: 'keys',
      files: {
        'p.yaml': `${HEAD('ClusterPool', 'Bad_Name').replace('metadata:\n', 'metadata:\n  annotations:\n' + ann + '\n')}${POOL_SPEC}`,
      },
    });
  }
  return out;
}

function depthAmplification(): HostileRepo[] {
  const out: HostileRepo[] = [];
  for (const depth of [65, 200, 5_000, 100_000]) {
    out.push({
      name: `depth-flow-seq-${depth}`,
      family: 'depth',
      files: { 'd.yaml': '['.repeat(depth) + ']'.repeat(depth) + '\n' },
    });
    out.push({
      name: `depth-flow-map-${depth}`,
      family: 'depth',
      files: { 'd.yaml': '{a: '.repeat(depth) + '1' + '}'.repeat(depth) + '\n' },
    });
  }
  for (const depth of [65, 300, 2_000]) {
    let text = '';
    for (let i = 0; i < depth; i++) text += `${' '.repeat(i)}k:\n`;
    out.push({ name: `depth-block-map-${depth}`, family: 'depth', files: { 'd.yaml': text } });
    let seq = '';
    for (let i = 0; i < depth; i++) seq += `${' '.repeat(i * 2)}-\n`;
    out.push({ name: `depth-block-seq-${depth}`, family: 'depth', files: { 'd.yaml': seq } });
  }
  return out;
}

function filesAmplification(): HostileRepo[] {
  const out: HostileRepo[] = [];
  for (const n of [50, 300]) {
    const files: Record<string, string> = {};
    for (let i = 0; i < n; i++)
      files[`q/${String(i).padStart(5, '0')}.yaml`] = `${HEAD('Queue', `q${i}`)}spec: {}\n`;
    out.push({ name: `files-${n}-invalid`, family: 'files', files });
  }
  for (const depth of [20, 60]) {
    const path = Array.from({ length: depth }, (_, i) => `d${i}`).join('/');
    out.push({
      name: `files-deep-path-${depth}`,
      family: 'files',
      files: { [`${path}/x.yaml`]: 'kind: Nope\n' },
    });
  }
  out.push({
    name: 'files-over-size',
    family: 'files',
    files: { 'big.yaml': `# ${'x'.repeat(LIMITS.maxFileBytes)}\n` },
  });
  out.push({
    name: 'files-over-size-by-one',
    family: 'files',
    files: { 'big.yaml': 'a'.repeat(LIMITS.maxFileBytes + 1) },
  });
  // Two files that together pass the document limit by one or two.
  const docs = Array.from(
    { length: Math.ceil((LIMITS.maxDocuments + 1) / 2) },
    (_, i) => `---\nx${i}`,
  ).join('\n');
  out.push({
    name: 'files-many-documents',
    family: 'files',
    files: { 'a.yaml': docs, 'b.yaml': docs },
  });
  return out;
}

/** Characters a terminal obeys: each in a file name, a key, a value and a name. */
const CONTROLS: [string, string][] = [
  ['esc', '\u001b[2J'],
  ['cr', '\r'],
  ['lf', '\n'],
  ['bel', '\u0007'],
  ['del', '\u007f'],
  ['csi', '\u009b'],
  ['rlo', '\u202e'],
  ['lri', '\u2066'],
  ['lsep', '\u2028'],
  ['bs', '\u0008'],
  ['tab', '\t'],
  ['nul', '\u0000'],
];

/** YAML double-quoted escape for a character. */
function yamlEscape(c: string): string {
  return [...c].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}

function controlCharacters(): HostileRepo[] {
  const out: HostileRepo[] = [];
  for (const [id, c] of CONTROLS) {
    if (id !== 'nul') {
      out.push({
        name: `ctrl-filename-${id}`,
        family: 'control',
        files: { [`x${c}OK: 1 error in 0 files${c}.yaml`]: `${HEAD('Queue', 'q')}spec: {}\n` },
      });
    }
    const e = yamlEscape(c);
    out.push({
      name: `ctrl-name-${id}`,
      family: 'control',
      files: { 'q.yaml': `${HEAD('Queue', `"q${e}x"`)}${QUEUE_SPEC}` },
    });
    out.push({
      name: `ctrl-key-${id}`,
      family: 'control',
      files: { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}  "k${e}y": 1\n` },
    });
    out.push({
      name: `ctrl-value-${id}`,
      family: 'control',
      files: { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}  priority: "hi${e}gh"\n` },
    });
    out.push({
      name: `ctrl-kind-${id}`,
      family: 'control',
      files: { 'q.yaml': `apiVersion: poolsync/v1\nkind: "Queue${e}"\nmetadata: {name: q}\n` },
    });
    // Raw in the file (not escaped): YAML itself refuses most of them.
    if (id !== 'lf' && id !== 'tab') {
      out.push({
        name: `ctrl-raw-${id}`,
        family: 'control',
        files: { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}  pool: a${c}b\n` },
      });
    }
  }
  return out;
}

const CORE_TAGS: [string, string][] = [
  ['str', '!!str [1]'],
  ['int', '!!int abc'],
  ['float', '!!float one'],
  ['bool', '!!bool yes'],
  ['null', '!!null nothing'],
  ['seq', '!!seq {a: 1}'],
  ['map', '!!map [1]'],
];
const OTHER_TAGS = [
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14t21:59:43.10-05:00',
  '!!set {a, b}',
  '!!omap [a: 1]',
  '!!pairs [a: 1]',
  '!!merge x',
  '!!value x',
  '!!yaml x',
  '!!python/object:os.system x',
  '!!js/function "function(){}"',
  '!!js/regexp /x/',
  '!!js/undefined ""',
  '!custom x',
  '!<tag:yaml.org,2002:binary> aGVsbG8=',
  '!<tag:example.com,2024:x> y',
  '!e!local x',
  '!! x',
];

function yamlTags(): HostileRepo[] {
  const out: HostileRepo[] = [];
  const places = (tagged: string): [string, string][] => [
    ['value', `${HEAD('Queue', 'q')}${QUEUE_SPEC}  priority: ${tagged}\n`],
    ['name', `${HEAD('Queue', tagged)}${QUEUE_SPEC}`],
  ];
  for (const [id, tagged] of CORE_TAGS)
    for (const [where, text] of places(tagged))
      out.push({ name: `tag-core-${id}-${where}`, family: 'tags', files: { 't.yaml': text } });
  OTHER_TAGS.forEach((tagged, i) => {
    for (const [where, text] of places(tagged))
      out.push({ name: `tag-other-${i}-${where}`, family: 'tags', files: { 't.yaml': text } });
  });
  out.push({
    name: 'tag-directive',
    family: 'tags',
    files: { 't.yaml': '%TAG !e! tag:example.com,2024:\n---\nkind: !e!Queue x\n' },
  });
  return out;
}

const USERINFO = [
  'https://TOKEN@minio.example.com',
  'https://user:pass@minio.example.com',
  'https://:pass@minio.example.com',
  'https://user%40corp:p%40ss@minio.example.com',
  'HTTPS://TOKEN@minio.example.com',
  'http://a@b@minio.example.com',
  'https://x-access-token:ghp_abc@minio.example.com:9000/path',
];
const URI_USERINFO = [
  's3://AKIA:secret@bucket/m',
  'gs://user:key@bucket/m',
  'abfs://container:key@acct.dfs.core.windows.net/m',
  'oci://ns:secret@bucket/m',
];

function urlUserinfo(): HostileRepo[] {
  const out: HostileRepo[] = [];
  USERINFO.forEach((url, i) => {
    out.push({
      name: `url-endpoint-${i}`,
      family: 'url',
      files: {
        'p.yaml': `${HEAD('ClusterPool', 'p')}${POOL_SPEC.replace('    uri: s3://corpus/m\n', `    uri: s3://corpus/m\n    endpoint: "${url}"\n`)}`,
      },
    });
  });
  USERINFO.forEach((url, i) => {
    out.push({
      name: `url-execution-cluster-${i}`,
      family: 'url',
      files: {
        'e.yaml': `${HEAD('ExecutionCluster', 'dp')}spec:\n  endpoint: "${url}"\n  auth: {type: file_path, tokenPath: /t, certPath: /c}\n`,
      },
    });
  });
  URI_USERINFO.forEach((uri, i) => {
    out.push({
      name: `url-uri-${i}`,
      family: 'url',
      files: { 'p.yaml': `${HEAD('ClusterPool', 'p')}${POOL_SPEC.replace('s3://corpus/m', uri)}` },
    });
    out.push({
      name: `url-data-plane-${i}`,
      family: 'url',
      files: {
        'c.yaml': `${HEAD('Cluster', 'c')}spec:\n  data_plane:\n    object_store_uri: "${uri}"\n`,
      },
    });
  });
  return out;
}

const RENDER = (path: string): string =>
  `apiVersion: poolsync/v1\nkind: RepoConfig\nrender:\n  flyte-core-values:\n    path: ${path}\n`;

/**
 * Files that are not regular files of the repository (issue 23): poolsync.yaml as a link to a
 * secret, to a device, to a /proc file that says size 0, as a FIFO or a folder; render targets
 * that would overwrite a manifest, a folder, `.`, poolsync.yaml or write through a link. Each is
 * refused at `file:1:1` or at the setting, without reading (or quoting) the target.
 */
function linksAndSpecialFiles(): HostileRepo[] {
  const out: HostileRepo[] = [];
  const queue = { 'q.yaml': `${HEAD('Queue', 'q')}${QUEUE_SPEC}` };
  const targets = [
    '/dev/zero',
    '/dev/urandom',
    '/proc/self/environ',
    '/etc/passwd',
    '/',
    '..',
    'poolsync.yaml',
    'q.yaml',
    'nowhere',
  ];
  targets.forEach((target, i) => {
    out.push({
      name: `link-config-${i}`,
      family: 'links',
      files: queue,
      links: { 'poolsync.yaml': target },
    });
  });
  out.push({ name: 'fifo-config', family: 'links', files: queue, fifos: ['poolsync.yaml'] });
  out.push({
    name: 'folder-config',
    family: 'links',
    files: { ...queue, 'poolsync.yaml/q.yaml': `${HEAD('Queue', 'x')}${QUEUE_SPEC}` },
  });
  // A skipped link to /dev/zero beside a refused config: the skip never reads it.
  out.push({
    name: 'link-manifest-and-config',
    family: 'links',
    files: queue,
    links: { 'zero.yaml': '/dev/zero', 'poolsync.yaml': '/proc/self/environ' },
    fifos: ['pipe.yaml'],
  });
  for (const [i, path] of [
    'q.yaml',
    '.',
    'pools',
    'poolsync.yaml',
    './v.yaml',
    'q.yaml/v.yaml',
    '/tmp/v.yaml',
    '../v.yaml',
  ].entries()) {
    out.push({
      name: `render-target-${i}`,
      family: 'links',
      files: {
        ...queue,
        'pools/p.yaml': `${HEAD('Queue', 'p')}${QUEUE_SPEC}`,
        'poolsync.yaml': RENDER(path),
      },
    });
  }
  out.push({
    name: 'render-target-link',
    family: 'links',
    files: { ...queue, 'poolsync.yaml': RENDER('values.yaml') },
    links: { 'values.yaml': '/etc/passwd' },
  });
  out.push({
    name: 'render-base-link',
    family: 'links',
    files: { ...queue, 'poolsync.yaml': `${RENDER('out.yaml')}    base: values.yaml\n` },
    links: { 'values.yaml': '/etc/passwd' },
  });
  out.push({
    name: 'render-target-linked-folder',
    family: 'links',
    files: { ...queue, 'poolsync.yaml': RENDER('out/values.yaml') },
    links: { out: '/tmp' },
  });
  return out;
}

function syntaxAndEncoding(): HostileRepo[] {
  const texts: [string, string | Uint8Array][] = [
    ['unterminated-double', `${HEAD('Queue', '"q')}${QUEUE_SPEC}`],
    ['unterminated-single', `${HEAD('Queue', "'q")}${QUEUE_SPEC}`],
    ['unclosed-flow-seq', `${HEAD('Queue', 'q')}${QUEUE_SPEC}  clusters: [a, b\n`],
    ['unclosed-flow-map', `${HEAD('Queue', 'q')}spec: {run_concurrency: 1\n`],
    ['tab-indent', 'a:\n\tb: 1\n'],
    ['bom-then-garbage', '\ufeff: : :\n'],
    ['merge-key', 'a: &a {x: 1}\nb:\n  <<: *a\n'],
    ['undefined-alias', 'a: *nowhere\n'],
    ['alias-as-key', 'a: &k x\n*k : 1\n'],
    ['complex-key', '? [a, b]\n: 1\n'],
    ['non-string-keys', '1: a\ntrue: b\nnull: c\n'],
    ['latin1', Buffer.from([0x6b, 0x3a, 0x20, 0xe9, 0x0a])],
    ['utf16', Buffer.from('\ufeffkind: Queue\n', 'utf16le')],
    ['binary', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0])],
    ['document-end-garbage', 'a: 1\n...\n: x\n'],
    ['reserved-indicator', 'a: @x\n'],
    ['many-documents-one-bad', `${HEAD('Queue', 'q')}${QUEUE_SPEC}---\nkind: [\n`],
    ['repo-config-elsewhere', 'apiVersion: poolsync/v1\nkind: RepoConfig\n'],
    ['scalar-document', '"just a string"\n'],
    ['sequence-document', '- a\n- b\n'],
    // Numbers no double holds as written: 1e-400 would read as 0 ("no limit").
    [
      'number-underflow',
      `${HEAD('Queue', 'q')}spec:\n  run_concurrency: 1e-400\n  action_concurrency: 1\n`,
    ],
    [
      'number-underflow-negative',
      `${HEAD('Queue', 'q')}spec:\n  run_concurrency: -2.5e-999\n  action_concurrency: 1\n`,
    ],
    [
      'number-overflow',
      `${HEAD('Queue', 'q')}spec:\n  run_concurrency: 1e400\n  action_concurrency: 1\n`,
    ],
    [
      'number-past-2-53',
      `${HEAD('Queue', 'q')}spec:\n  run_concurrency: 9007199254740993\n  action_concurrency: 1\n`,
    ],
    [
      'number-hex-past-2-53',
      `${HEAD('Queue', 'q')}spec:\n  run_concurrency: 0x20000000000001\n  action_concurrency: 1\n`,
    ],
  ];
  return texts.map(([id, text]) => ({
    name: `syntax-${id}`,
    family: 'syntax',
    files: { 's.yaml': text },
  }));
}

/** Every repository of the corpus, in a fixed order. */
export function hostileCorpus(): HostileRepo[] {
  return [
    ...bytesAmplification(),
    ...keysAmplification(),
    ...depthAmplification(),
    ...filesAmplification(),
    ...controlCharacters(),
    ...yamlTags(),
    ...urlUserinfo(),
    ...syntaxAndEncoding(),
    ...linksAndSpecialFiles(),
  ];
}

/** Writes one repository under `dir`. */
export async function writeHostileRepo(dir: string, repo: HostileRepo): Promise<void> {
  for (const [rel, content] of Object.entries(repo.files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  for (const [rel, target] of Object.entries(repo.links ?? {})) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await symlink(target, join(dir, rel));
  }
  for (const rel of repo.fifos ?? []) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    execFileSync('mkfifo', [join(dir, rel)]);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx scripts/hostile-corpus.ts OUT_DIR\n');
    process.exit(2);
  }
  const corpus = hostileCorpus();
  for (const repo of corpus) await writeHostileRepo(join(out, repo.name), repo);
  process.stdout.write(`wrote ${corpus.length} repositories to ${out}\n`);
}
