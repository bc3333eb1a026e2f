/**
 * A plan's policies (docs/policies.md): Rego with conftest's conventions, evaluated by OPA. The
 * input is the plan document `plan --output json` prints (render/json.ts, without its seal);
 * `data.poolsync` adds what the plan does not say: each declared object's file, line and
 * annotations, and the branch. OPA runs with a capabilities file that removes the network and
 * runtime builtins and allows no host, so a policy using one fails to compile: closed.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { DesiredState } from '../model/desired.js';
import type { Plan } from '../model/plan.js';
import { failuresDigest, type PolicyFinding, type PolicyReport } from '../model/policy.js';
import { declaredObjects } from '../plan/inventory.js';
import { planDocument } from '../render/json.js';
import { batches } from '../util/batched-lines.js';
import { jsonParts } from '../util/json-parts.js';
import {
  LINK_WHY,
  POLICY_FILE,
  policyFolder,
  policyFolderWords,
} from '../manifests/policy-folder.js';
import { describeFailure, readRepoFileSync } from '../util/safe-file.js';
import { gitBytes } from '../util/git.js';
import { DEFAULT_OPA_MEMORY_MIB, runOpa, type OpaLimits } from './opa.js';

/**
 * Where a policy set is read: a folder, or a folder of a commit (a pull request's base). A
 * folder's `root` is the config folder its path (poolsync.yaml's `policies.path`) is relative
 * to: every folder from there down is checked to be a real one (manifests/policy-folder.ts);
 * without it (`--policies DIR`) the folder itself and what it holds.
 */
export type PolicyPlace =
  | { kind: 'folder'; dir: string; root?: string }
  | { kind: 'commit'; repo: string; commit: string; path: string };

export interface PolicySet {
  /** As configured (`policies/`), for messages. */
  source: string;
  at: PolicyPlace;
  /** Principals who may approve its failures (docs/policies.md, Owners). */
  owners: string[];
  /** What configured it, for messages: `--policies` (the default), or poolsync.yaml's line. */
  origin?: string;
}

export interface PolicyFacts {
  /** The desired state planned: locations and annotations (absent for a saved plan). */
  desired?: DesiredState | null;
  /** The branch the plan is of (`data.poolsync.branch`), when known. */
  branch?: string | null;
}

export const DEFAULT_LIMITS: OpaLimits = {
  timeoutMs: 10_000,
  maxOutputBytes: 16 * 1024 * 1024,
  memoryMiB: DEFAULT_OPA_MEMORY_MIB,
};

/** Builtins a policy may not call: network, OPA's runtime (environment, config) (docs/policies.md). */
export function refusedBuiltin(name: string): boolean {
  return name === 'http.send' || name === 'opa.runtime' || name.startsWith('net.');
}

/** conftest's rule names: `deny`, `violation`, `warn`, each maybe with a `_suffix`. */
const RULE = /^(deny|violation|warn)(_[A-Za-z0-9_]+)?$/;
const QUERY = `{k: v | some k, v in data.main; regex.match(\`${RULE.source}\`, k)}`;

/** The report of `set` when it could not be evaluated at all (no OPA): fails closed. */
export function failedReport(set: PolicySet, error: string): PolicyReport {
  const from = set.at.kind === 'commit' ? 'base' : 'folder';
  const none = { files: 0, rules: 0, deny: [], warn: [], elapsed_ms: 0 };
  return { source: set.source, from, ...none, owners: set.owners, error };
}

/**
 * Evaluates `set` on `plan`; any failure to evaluate is the report's `error` (fails closed).
 * `opa`, or how to find it: a folder that cannot be a policy set is said before OPA is looked for.
 */
export async function evaluatePolicies(
  set: PolicySet,
  plan: Plan,
  facts: PolicyFacts,
  opa: string | (() => string),
  limits: OpaLimits = DEFAULT_LIMITS,
): Promise<PolicyReport> {
  const report: PolicyReport = {
    source: set.source,
    from: set.at.kind === 'commit' ? 'base' : 'folder',
    files: 0,
    rules: 0,
    deny: [],
    warn: [],
    elapsed_ms: 0,
    owners: set.owners,
  };
  const work = await mkdtemp(join(tmpdir(), 'poolsync-policy-'));
  try {
    // Only copies of the files checked are handed to OPA, never the folder (which it would
    // read through links).
    const dir = join(work, 'policies');
    const files = await policyFiles(set, dir);
    if (typeof files === 'string') return { ...report, error: files };
    report.files = files.filter((f) => f.endsWith('.rego')).length;
    if (report.files === 0)
      return { ...report, error: `${set.source} holds no .rego file: 0 policies evaluated` };
    if (typeof opa !== 'string') opa = opa();
    const caps = await capabilities(opa, work, limits);
    if (typeof caps !== 'object') return { ...report, error: caps };
    await writeFile(join(work, 'input.json'), batches(jsonParts(planDocument(plan), 2, 0)));
    await writeFile(join(work, 'poolsync.json'), JSON.stringify({ poolsync: dataOf(plan, facts) }));
    // A builtin's error (`to_number("lots")`, `1/0`) fails closed: by default the rule is undefined.
    const args = ['eval', '--strict-builtin-errors', '--format', 'json'];
    args.push('--capabilities', caps.file, '--timeout', `${Math.ceil(limits.timeoutMs / 1000)}s`);
    args.push('-d', dir);
    args.push('-d', join(work, 'poolsync.json'), '-i', join(work, 'input.json'), QUERY);
    const run = await runOpa(opa, args, work, limits);
    report.elapsed_ms = run.elapsed_ms;
    const seconds = `${Math.ceil(limits.timeoutMs / 1000)} s`;
    if (run.stopped === 'time')
      return {
        ...report,
        error: `the policies of ${set.source} ran over their limit of ${seconds}: stopped, nothing applied`,
      };
    if (run.stopped === 'memory')
      return {
        ...report,
        error: `the policies of ${set.source} ran over their memory limit of ${limits.memoryMiB} MiB (OPA: ${oneLine(run.stderr)}): stopped, they fail closed; make them build less, or raise POOLSYNC_OPA_MEMORY`,
      };
    if (run.stopped === 'output')
      return {
        ...report,
        error: `the policies of ${set.source} wrote more than ${limits.maxOutputBytes} bytes of results: stopped`,
      };
    if (run.stopped === 'crash')
      return {
        ...report,
        error: `OPA (${opa}) crashed evaluating the policies of ${set.source} (${oneLine(run.stderr)}): they fail closed`,
      };
    const read = readResult(run.stdout, work, dir, set.source, seconds);
    if (typeof read === 'string') {
      const said = oneLine(run.stderr) || `exit ${run.code ?? 'by a signal'}, no answer`;
      return { ...report, error: read || `OPA (${opa}) failed: ${said}: the policies fail closed` };
    }
    const found = { ...report, ...findings(read, facts), rules: Object.keys(read).length };
    return found.deny.length > 0 ? { ...found, failures: failuresDigest(found) } : found;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A policy file larger than this is refused (OPA's results are bounded at 16 MB too). */
const POLICY_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The policy files (relative), copied into `dir`; or why they cannot be read. A folder, or a
 * commit's, that is or holds a link (or a FIFO, a socket, a device; a submodule in a commit) is
 * refused whole (docs/security.md, "What is read").
 */
async function policyFiles(set: PolicySet, dir: string): Promise<string[] | string> {
  const { at } = set;
  const name = set.source;
  if (at.kind === 'folder') {
    const root = at.root ?? dirname(at.dir);
    const rel = (at.root !== undefined ? relative(at.root, at.dir) : basename(at.dir)) || '.';
    const found = await policyFolder(root, rel.split(sep).join('/'));
    if (!found.ok) {
      // `--policies a.rego` (docs/policies.md): a policy set is a folder; this file's is meant.
      if (at.root === undefined && found.reason === 'not-folder' && found.kind === 'file')
        return `--policies ${name} is a file, not a folder: name its folder (--policies ${dirname(name)}), whose .rego files are all read`;
      const why = policyFolderWords(found, rel.split(sep).join('/'));
      const named = found.reason === 'missing' || found.reason === 'io';
      return `the policy folder ${name} ${why}${named ? '; name a folder of .rego files' : ''}`;
    }
    const folder = join(root, rel);
    for (const file of found.files) {
      const read = readRepoFileSync(folder, file, { maxBytes: POLICY_FILE_BYTES });
      if (!read.ok)
        return `the policy folder ${name} holds ${file}, which cannot be read: ${describeFailure(read)}`;
      const to = join(dir, file);
      await mkdir(dirname(to), { recursive: true });
      await writeFile(to, read.bytes);
    }
    return found.files;
  }
  // at.repo is the top of a work tree (its `.git` is there): Git reads no other repository.
  const git = (args: string[]) => gitBytes(args, { cwd: at.repo, maxOutput: 16 * 1024 * 1024 });
  const prefix = at.path.replace(/\/+$/, '');
  const short = at.commit.slice(0, 12);
  const fromBase =
    'policies are read from the base branch in a pull request, so that it cannot change what checks it';
  let listed: { mode: string; file: string }[];
  let self: string | undefined;
  // '': the commit's top folder (the daemon's `policies.path: .` at the repository's root).
  const under = prefix === '' ? [] : ['--', `${prefix}/`];
  try {
    self =
      prefix === ''
        ? '040000'
        : treeEntries(await git(['ls-tree', '-z', at.commit, '--', prefix]))[0]?.mode;
    listed = treeEntries(await git(['ls-tree', '-r', '-z', at.commit, ...under]));
  } catch {
    return `the policy folder ${name} of the base commit ${at.commit} cannot be read with Git: check out with its history`;
  }
  if (self === undefined)
    return `the policy folder ${name} does not exist on the base commit ${short} (${fromBase}): add it on the base branch first, or name a folder outside the checkout`;
  if (self === '120000')
    return `the policy folder ${name} is a symbolic link on the base commit ${short}: ${LINK_WHY}; put the folder itself there`;
  if (self !== '040000')
    return `the policy folder ${name} is not a folder on the base commit ${short} (${fromBase}): name a folder of .rego files`;
  const inside = (file: string) => (prefix === '' ? file : file.slice(prefix.length + 1));
  for (const { mode, file } of listed) {
    if (mode === '120000')
      return `the policy folder ${name} holds ${inside(file)}, a symbolic link, on the base commit ${short}: ${LINK_WHY}; replace it with the file itself, or remove it`;
    if (mode === '160000')
      return `the policy folder ${name} holds ${inside(file)}, a submodule, on the base commit ${short}: a policy folder holds regular files and folders only`;
  }
  const files = listed.map((e) => e.file).filter((f) => POLICY_FILE.test(f));
  for (const file of files) {
    const bytes = await git(['show', `${at.commit}:${file}`]);
    const to = join(dir, inside(file));
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, bytes);
  }
  return files;
}

/** `git ls-tree -z` lines: `MODE TYPE OBJECT\tPATH`. */
function treeEntries(stdout: Buffer): { mode: string; file: string }[] {
  return stdout
    .toString('utf8')
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => {
      const tab = line.indexOf('\t');
      return { mode: line.slice(0, line.indexOf(' ')), file: line.slice(tab + 1) };
    });
}

/** OPA's own capabilities, less the refused builtins, allowing no host: a file in `work`. */
async function capabilities(
  opa: string,
  work: string,
  limits: OpaLimits,
): Promise<{ file: string } | string> {
  // OPA's own list (~300 KB), not a policy's output: bounded by the default, whatever `limits` say.
  const bound = Math.max(limits.maxOutputBytes, DEFAULT_LIMITS.maxOutputBytes);
  const run = await runOpa(opa, ['capabilities', '--current'], work, {
    ...limits,
    maxOutputBytes: bound,
  });
  let caps: { builtins?: { name: string }[] };
  try {
    caps = JSON.parse(run.stdout) as typeof caps;
  } catch {
    return `${opa} did not answer \`opa capabilities --current\` as OPA does: ${oneLine(run.stderr) || `exit ${run.code}`}`;
  }
  const builtins = (caps.builtins ?? []).filter((b) => !refusedBuiltin(b.name));
  const file = join(work, 'capabilities.json');
  await writeFile(file, JSON.stringify({ ...caps, builtins, allow_net: [] }));
  return { file };
}

/** `data.poolsync`: each declared object's place and annotations, and the branch. */
function dataOf(plan: Plan, facts: PolicyFacts): Record<string, unknown> {
  const objects: Record<string, unknown> = {};
  if (facts.desired)
    for (const [address, o] of declaredObjects(facts.desired)) {
      const { file, line } = o.source;
      const annotations = (o as { annotations?: Record<string, string> }).annotations ?? {};
      objects[address] = { file, line, annotations };
    }
  return {
    objects,
    branch: facts.branch ?? null,
    environment: plan.control_plane?.environment ?? null,
  };
}

interface OpaError {
  message?: string;
  code?: string;
  location?: { file?: string; row?: number };
  stack_trace?: { location?: { file?: string; row?: number } }[];
}

/** The rules' values; or why OPA failed, in one line ('' when it said nothing usable). */
function readResult(
  stdout: string,
  work: string,
  dir: string,
  source: string,
  seconds: string,
): Record<string, unknown> | string {
  let doc: { result?: { expressions?: { value?: unknown }[] }[]; errors?: OpaError[] };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    return '';
  }
  const e = doc.errors?.[0];
  if (e) {
    let loc = e.location ?? e.stack_trace?.find((s) => s.location?.file)?.location;
    let message = e.message;
    // A data file OPA cannot read has no location: its path (our copy's) leads the message.
    const data = loc?.file ? null : /^(\/[^:\n]+): (.*)$/s.exec(message ?? '');
    if (data?.[1]?.startsWith(`${dir}/`)) [loc, message] = [{ file: data[1] }, data[2]];
    const folder = source.replace(/\/+$/, '');
    const file = loc?.file ? `${folder}/${relativeTo(loc.file, dir, work)}` : source;
    const at = `${file}${loc?.row ? `:${loc.row}` : ''}`;
    // OPA's message may name our copies (a conflict's `1 at /tmp/…/a.rego:3`) over several lines.
    message = message
      ?.replaceAll(`${dir}/`, `${folder}/`)
      .replaceAll(`${work}/`, '')
      .replace(/:\n\s*/g, ': ')
      .replace(/\s*\n\s*/g, '; ');
    const refused = /undefined function (\S+)/.exec(message ?? '')?.[1];
    if (refused && refusedBuiltin(refused))
      return `${at}: calls ${refused}, which poolsync refuses to policies (no network, no OPA runtime): the policies fail closed`;
    if (e.code === 'eval_builtin_error')
      return `${at}: ${message} (a built-in function failed, so the rule could not be decided): the policies fail closed`;
    if (e.code === 'eval_cancel_error')
      return `${at}: the policies ran over their limit of ${seconds} (${message}): stopped, they fail closed`;
    return `${at}: ${message ?? e.code ?? 'OPA failed'}${e.code ? ` (${e.code})` : ''}: the policies fail closed`;
  }
  const value = doc.result?.[0]?.expressions?.[0]?.value;
  // No `package main` at all: an empty result, 0 policies evaluated.
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function relativeTo(file: string, dir: string, work: string): string {
  for (const base of [dir, work])
    if (file.startsWith(`${base}/`)) return file.slice(base.length + 1);
  return file;
}

/** Each rule's messages: strings, or objects with `msg` (and `address`); anything else fails. */
function findings(
  values: Record<string, unknown>,
  facts: PolicyFacts,
): Pick<PolicyReport, 'deny' | 'warn' | 'error'> {
  const deny: PolicyFinding[] = [];
  const warn: PolicyFinding[] = [];
  const places = facts.desired ? declaredObjects(facts.desired) : null;
  for (const [rule, value] of Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) {
    if (!Array.isArray(value))
      return {
        deny,
        warn,
        error: `rule ${rule} is not a set of messages (write \`${rule} contains msg if { … }\`): the policies fail closed`,
      };
    for (const v of value) {
      const finding = findingOf(rule, v);
      if (finding === null)
        return {
          deny,
          warn,
          error: `rule ${rule} gave ${JSON.stringify(v).slice(0, 200)}: a message is a string or an object with a string msg (conftest's convention)`,
        };
      const source = finding.address ? places?.get(finding.address)?.source : undefined;
      if (source) finding.location = `${source.file}:${source.line}`;
      (rule.startsWith('warn') ? warn : deny).push(finding);
    }
  }
  return { deny, warn };
}

function findingOf(rule: string, v: unknown): PolicyFinding | null {
  if (typeof v === 'string') return { rule, msg: v };
  if (!v || typeof v !== 'object') return null;
  const { msg, address } = v as { msg?: unknown; address?: unknown };
  if (typeof msg !== 'string') return null;
  return { rule, msg, ...(typeof address === 'string' ? { address } : {}) };
}

function oneLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}
