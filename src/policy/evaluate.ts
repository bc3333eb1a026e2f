/**
 * A plan's policies (docs/policies.md): Rego with conftest's conventions, evaluated by OPA. The
 * input is the plan document `plan --output json` prints (render/json.ts, without its seal);
 * `data.poolsync` adds what the plan does not say: each declared object's file, line and
 * annotations, and the branch. OPA runs with a capabilities file that removes the network and
 * runtime builtins and allows no host, so a policy using one fails to compile: closed.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { DesiredState } from '../model/desired.js';
import type { Plan } from '../model/plan.js';
import { failuresDigest, type PolicyFinding, type PolicyReport } from '../model/policy.js';
import { declaredObjects } from '../plan/inventory.js';
import { planDocument } from '../render/json.js';
import { batches } from '../util/batched-lines.js';
import { jsonParts } from '../util/json-parts.js';
import { ioWords } from '../util/safe-file.js';
import { runOpa, type OpaLimits } from './opa.js';

/** Where a policy set is read: a folder, or a folder of a commit (a pull request's base). */
export type PolicyPlace =
  { kind: 'folder'; dir: string } | { kind: 'commit'; repo: string; commit: string; path: string };

export interface PolicySet {
  /** As configured (`policies/`), for messages. */
  source: string;
  at: PolicyPlace;
  /** Principals who may approve its failures (docs/policies.md, Owners). */
  owners: string[];
}

export interface PolicyFacts {
  /** The desired state planned: locations and annotations (absent for a saved plan). */
  desired?: DesiredState | null;
  /** The branch the plan is of (`data.poolsync.branch`), when known. */
  branch?: string | null;
}

export const DEFAULT_LIMITS: OpaLimits = { timeoutMs: 10_000, maxOutputBytes: 16 * 1024 * 1024 };

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

/** Evaluates `set` on `plan`; any failure to evaluate is the report's `error` (fails closed). */
export async function evaluatePolicies(
  set: PolicySet,
  plan: Plan,
  facts: PolicyFacts,
  opa: string,
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
    const dir = set.at.kind === 'folder' ? set.at.dir : join(work, 'policies');
    const files = await policyFiles(set, dir);
    if (typeof files === 'string') return { ...report, error: files };
    report.files = files.filter((f) => f.endsWith('.rego')).length;
    if (report.files === 0)
      return { ...report, error: `${set.source} holds no .rego file: 0 policies evaluated` };
    const caps = await capabilities(opa, work, limits);
    if (typeof caps !== 'object') return { ...report, error: caps };
    await writeFile(join(work, 'input.json'), batches(jsonParts(planDocument(plan), 2, 0)));
    await writeFile(join(work, 'poolsync.json'), JSON.stringify({ poolsync: dataOf(plan, facts) }));
    const args = ['eval', '--format', 'json', '--capabilities', caps.file];
    args.push('--timeout', `${Math.ceil(limits.timeoutMs / 1000)}s`, '-d', dir);
    args.push('-d', join(work, 'poolsync.json'), '-i', join(work, 'input.json'), QUERY);
    const run = await runOpa(opa, args, work, limits);
    report.elapsed_ms = run.elapsed_ms;
    const seconds = `${Math.ceil(limits.timeoutMs / 1000)} s`;
    if (run.stopped === 'time')
      return {
        ...report,
        error: `the policies of ${set.source} ran over their limit of ${seconds}: stopped, nothing applied`,
      };
    if (run.stopped === 'output')
      return {
        ...report,
        error: `the policies of ${set.source} wrote more than ${limits.maxOutputBytes} bytes of results: stopped`,
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

const FOLDER_WORDS: Record<string, string> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'it is not a folder',
};

/** The policy files (relative), after copying a commit's into `dir`; or why they cannot be read. */
async function policyFiles(set: PolicySet, dir: string): Promise<string[] | string> {
  const { at } = set;
  if (at.kind === 'folder') {
    try {
      const entries = await readdir(at.dir, { recursive: true, withFileTypes: true });
      return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      const why = FOLDER_WORDS[code] ?? ioWords(code);
      return `the policy folder ${set.source} cannot be read: ${why}; name a folder of .rego files`;
    }
  }
  const git = (args: string[], maxBuffer = 16 * 1024 * 1024) =>
    promisify(execFile)('git', args, { cwd: at.repo, maxBuffer, encoding: 'buffer' });
  const prefix = at.path.replace(/\/+$/, '');
  let listed: string[];
  try {
    const { stdout } = await git([
      'ls-tree',
      '-r',
      '-z',
      '--name-only',
      at.commit,
      '--',
      `${prefix}/`,
    ]);
    listed = stdout
      .toString('utf8')
      .split('\0')
      .filter((f) => /\.(rego|json|ya?ml)$/.test(f));
  } catch {
    return `the policy folder ${set.source} of the base commit ${at.commit} cannot be read with Git: check out with its history`;
  }
  for (const file of listed) {
    const { stdout } = await git(['show', `${at.commit}:${file}`]);
    const to = join(dir, file.slice(prefix.length + 1));
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, stdout);
  }
  return listed;
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
    const loc = e.location ?? e.stack_trace?.find((s) => s.location?.file)?.location;
    const file = loc?.file
      ? `${source.replace(/\/+$/, '')}/${relativeTo(loc.file, dir, work)}`
      : source;
    const at = `${file}${loc?.row ? `:${loc.row}` : ''}`;
    const refused = /undefined function (\S+)/.exec(e.message ?? '')?.[1];
    if (refused && refusedBuiltin(refused))
      return `${at}: calls ${refused}, which poolsync refuses to policies (no network, no OPA runtime): the policies fail closed`;
    if (e.code === 'eval_cancel_error')
      return `${at}: the policies ran over their limit of ${seconds} (${e.message}): stopped, they fail closed`;
    return `${at}: ${e.message ?? e.code ?? 'OPA failed'} (${e.code ?? 'error'}): the policies fail closed`;
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
