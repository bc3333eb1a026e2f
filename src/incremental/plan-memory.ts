/**
 * The CLI's memory between runs (issue 35): `poolsync plan` remembers its last valid result for
 * each config folder, under keys of everything it was derived from, and re-derives only what
 * changed:
 *
 * - the desired key: poolsync's code (codeFingerprint), the folder, the options that shape the
 *   plan, poolsync.yaml as read, the files the loader reads and a hash of each one's analysis. A
 *   file whose text changed is parsed again; when its analysis is what it was (a comment, a
 *   blank line at its end), the key is too, and nothing else is read again;
 * - the live key: a hash of the live state as read (the inventory included); and, from a control
 *   plane that has one (ControlPlane.stateKey), a key of its state files' identity, which when
 *   equal spares reading the live state at all.
 *
 * When both match, the remembered plan is the answer; the live state is read only once the
 * desired key matched, so an invalid repository is reported before the control plane is asked
 * anything. A folder with `environments:` or `render:`, a file that cannot be read, or a
 * repository near the memory budget is never remembered.
 *
 * The record is one entry of a DiskCache (disk-cache.ts) under `<cache>/plans`: never the
 * checkout, HMAC-verified, written atomically, safe to lose; its plan's noop changes are parsed
 * only when asked for (encodeRecord). `POOLSYNC_CACHE_DIR=off` turns it off.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userCacheDir } from '../util/user-cache.js';
import { DiskCache } from './disk-cache.js';
import { off } from './off.js';
import {
  analyseFile,
  withoutRoots,
  type FileAnalysis,
  type LoaderOptions,
} from '../manifests/index.js';
import { readRepoConfig, type ConfigResult } from '../manifests/config.js';
import { heapBudget, overBudget } from '../manifests/limits.js';
import type { LoadCounts, ValidationError } from '../manifests/types.js';
import {
  checkFolder,
  findManifestFiles,
  readWalkedManifestText,
  type WalkResult,
} from '../manifests/walk.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import { VISIBLE_CHANGES, type Change, type Plan } from '../model/plan.js';
import type { PlanOptions } from '../plan/index.js';

const FORMAT = 'poolsync-plan-memory-4';
/** The bound on a record's bytes: a plan of 100,000 objects is ~100 MB of JSON. */
const MAX_RECORD_BYTES = 1024 * 1024 * 1024;
/** Records kept across folders (one per folder and options), oldest dropped first. */
const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

/** What the CLI reads of the desired state besides the plan. */
export interface DesiredFacts {
  /** The folder declares no object (plan/inventory.ts declaresNothing). */
  declaresNothing: boolean;
  prune: boolean;
}

export type RememberedResult =
  | { ok: false; errors: ValidationError[]; counts: LoadCounts }
  | {
      ok: true;
      plan: Plan;
      counts: LoadCounts;
      facts: DesiredFacts;
      /** Null when the plan was remembered (nothing was loaded). */
      desired: DesiredState | null;
      reused: boolean;
    };

export interface MemoryOptions extends PlanOptions, LoaderOptions {
  /** The cache folder (manifestCacheDir()); null: no memory, the pipeline as it is. */
  memoryDir: string | null;
  /**
   * ControlPlane.stateKey: when the record's key equals it, the live state is not read (it is
   * the one the record was planned against). Asked before the read and again after it.
   */
  stateKey?: () => Promise<string | null>;
  /** `desired` → the facts kept with the plan. */
  facts: (desired: DesiredState) => DesiredFacts;
  /** The load → plan this memory wraps (src/ops/plan-run.ts planRepository). */
  planFolder: PlanFolder;
}

/**
 * The pipeline's load → plan of `dir` (src/ops/plan-run.ts planRepository), each file's
 * analysis told to `onAnalysed`; `first`: a live state read already, used when it holds the
 * settings the plan needs.
 */
export type PlanFolder = (
  dir: string,
  read: (need: SettingsNeed) => Promise<LiveState>,
  opts: MemoryOptions & { onAnalysed?: (file: string, analysis: FileAnalysis) => void },
  first: LiveState | null,
) => Promise<
  | { ok: false; errors: ValidationError[]; counts: LoadCounts }
  | { ok: true; plan: Plan; desired: DesiredState; live: LiveState; counts: LoadCounts }
>;

interface FileEntry {
  text: string;
  textHash: string;
  /** Known once the file was analysed (now or in the remembered run). */
  analysisHash?: string;
  aliasBytes?: number;
}

/** What the loader will read, read without analysing: null when the folder is not rememberable. */
interface Inputs {
  config: ConfigResult;
  walk: WalkResult;
  files: Map<string, FileEntry>;
}

interface MemoryRecord {
  format: typeof FORMAT;
  slot: string;
  desiredKey: string;
  liveKey: string;
  /** The control plane's key of the live state read (ControlPlane.stateKey), when it has one. */
  stateKey: string | null;
  /** path → [text hash, analysis hash, alias bytes]. */
  files: Record<string, [string, string, number]>;
  result: { plan: Plan; counts: LoadCounts; facts: DesiredFacts };
}

/**
 * The CLI's cache folder: env POOLSYNC_CACHE_DIR (`off` or empty: none), else the user's cache
 * folder (`$XDG_CACHE_HOME/poolsync/manifests`, else `~/.cache/poolsync/manifests`), never the
 * working folder: in CI that is a checkout of a pull request's code (docs/security.md).
 */
export function manifestCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.POOLSYNC_CACHE_DIR?.trim();
  if (v === undefined) return userCacheDir('manifests', env);
  return v === '' || v === 'off' ? null : resolve(v);
}

export async function planRemembering(
  dir: string,
  readLive: (need: SettingsNeed) => Promise<LiveState>,
  opts: MemoryOptions,
): Promise<RememberedResult> {
  const memory = opts.memoryDir === null ? null : new PlanMemory(opts.memoryDir, dir, opts);
  const inputs = memory ? await memory.inputs() : null;
  const record = inputs ? await memory!.recall(inputs) : null;
  // Taken before the live state is read: a key of the state as read or an earlier one, so a
  // write in between can only make the next run miss.
  const stateKey = inputs && opts.stateKey ? await opts.stateKey() : null;
  let live: LiveState | null = null;
  if (record && (stateKey === null || record.stateKey !== stateKey)) {
    // The settings the remembered plan read: the same repository needs the same (plan/fingerprint.ts).
    const read = record.result.plan.default_queues_read;
    live = await readLive(() => read ?? 'all');
  }
  if (record && (live === null || sha256(JSON.stringify(live)) === record.liveKey)) {
    const { plan, counts, facts } = record.result;
    return { ok: true, plan, counts, facts, desired: null, reused: true };
  }
  const analyses = new Map<string, FileAnalysis>();
  const made = await opts.planFolder(
    dir,
    readLive,
    inputs
      ? {
          ...opts,
          // The loader reads nothing again: the record's key is of what the plan is made from.
          shared: { config: inputs.config, walk: async () => inputs.walk, texts: inputs.files },
          onAnalysed: (file, a) => analyses.set(file, a),
        }
      : opts,
    live,
  );
  if (!made.ok) return { ok: false, errors: made.errors, counts: made.counts };
  const { plan, live: liveNow, desired, counts } = made;
  const facts = opts.facts(desired);
  if (inputs && !desired.config.render) {
    // Asked again after the read: a lazy open's first key is of the files alone, and a state
    // that drains with time has none (ControlPlane.stateKey); kept only when both agree.
    const keyAfter = stateKey !== null ? await opts.stateKey!() : null;
    const kept = keyAfter === stateKey ? stateKey : null;
    await memory!.remember(inputs, analyses, liveNow, kept, { plan, counts, facts });
  }
  return { ok: true, plan, counts, facts, desired, reused: false };
}

class PlanMemory {
  private readonly disk: DiskCache;
  /** The record's entry: one per folder and options (the options are in the desired key too). */
  private readonly slot: string;

  constructor(
    root: string,
    private readonly dir: string,
    private readonly opts: MemoryOptions,
  ) {
    this.disk = new DiskCache(join(resolve(root), 'plans'), codeFingerprint());
    this.slot = sha256(JSON.stringify([FORMAT, resolve(dir), opts.environment ?? null]));
  }

  /** The loader's inputs, or null when this folder is not remembered (see the module comment). */
  async inputs(): Promise<Inputs | null> {
    if (this.opts.environment !== undefined) return null;
    if ((await checkFolder(this.dir, this.opts.root)) !== null) return null;
    const config = await readRepoConfig(this.dir);
    if (config.errors.length > 0 || config.declaresEnvironments || config.config.render)
      return null;
    const walk = await findManifestFiles(this.dir, config.config.ignore);
    if (walk.unreadable.length > 0) return null;
    // In synchronous calls, as the loader reads them (index.ts): ~117 small files cost
    // less than the promises of reading them concurrently.
    const files = new Map<string, FileEntry>();
    for (const file of walk.files) {
      const read = readWalkedManifestText(this.dir, file, config.limits);
      if (!read.ok) return null;
      files.set(file, { text: read.text, textHash: sha256(read.text) });
    }
    return { config, walk, files };
  }

  /** The remembered record when the desired state is what it was then; else null. */
  async recall(inputs: Inputs): Promise<MemoryRecord | null> {
    const body = await this.disk.read(this.slot, MAX_RECORD_BYTES);
    let record: MemoryRecord | null = null;
    try {
      record = body === null ? null : decodeRecord<MemoryRecord>(body);
    } catch {
      // not a record of this format: a miss
    }
    if (record?.format !== FORMAT || record.slot !== this.slot) return null;
    if (Object.keys(record.files).length !== inputs.files.size) return null;
    for (const [file, entry] of inputs.files) {
      const was = record.files[file];
      if (was === undefined) return null;
      if (was[0] === entry.textHash) {
        entry.analysisHash = was[1];
        entry.aliasBytes = was[2];
        continue;
      }
      // A changed file: parsed again; one with issues of its own is reported by the loader.
      const analysis = analyseFile(file, entry.text, inputs.config.limits);
      if (analysis.issues.length > 0 || analysis.documents.some((d) => d.errors.length > 0))
        return null;
      this.setAnalysis(entry, analysis);
    }
    const key = this.desiredKey(inputs);
    return key !== null && key === record.desiredKey ? record : null;
  }

  async remember(
    inputs: Inputs,
    analyses: Map<string, FileAnalysis>,
    live: LiveState,
    stateKey: string | null,
    result: MemoryRecord['result'],
  ): Promise<void> {
    for (const [file, entry] of inputs.files) {
      const analysis = analyses.get(file);
      if (analysis === undefined) return; // the loader read another set of files: not kept
      this.setAnalysis(entry, analysis);
    }
    const desiredKey = this.desiredKey(inputs);
    if (desiredKey === null) return;
    const files: MemoryRecord['files'] = {};
    for (const [file, e] of inputs.files)
      files[file] = [e.textHash, e.analysisHash!, e.aliasBytes!];
    const record: MemoryRecord = {
      format: FORMAT,
      slot: this.slot,
      desiredKey,
      liveKey: sha256(JSON.stringify(live)),
      stateKey,
      files,
      result,
    };
    // Never fails the plan: a record that cannot be written is a miss next time.
    await this.disk.write(this.slot, encodeRecord(record));
    await this.disk.trim(MAX_MEMORY_BYTES, new Set([this.slot])).catch(() => undefined);
  }

  private setAnalysis(entry: FileEntry, analysis: FileAnalysis): void {
    entry.analysisHash = sha256(JSON.stringify(withoutRoots(analysis)));
    entry.aliasBytes = analysis.aliasBytes;
  }

  /** Null when the folder is near the loader's memory budget (its limit could apply). */
  private desiredKey(inputs: Inputs): string | null {
    let bytes = 0;
    for (const e of inputs.files.values()) bytes += e.text.length + e.aliasBytes!;
    if (overBudget(heapBudget(), bytes) !== null) return null;
    const o = this.opts;
    return sha256(
      JSON.stringify([
        FORMAT,
        codeFingerprint(),
        resolve(this.dir),
        o.root ?? null,
        o.commit ?? null,
        o.targets ?? [],
        o.replace ?? [],
        o.acceptCascade ?? [],
        o.backend ?? null,
        inputs.config.config,
        inputs.config.limits,
        inputs.walk,
        [...inputs.files].map(([f, e]) => [f, e.analysisHash]),
      ]),
    );
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * What a remembered result depends on besides its inputs: poolsync's own code, read once per
 * process: every code file of the package (`src/` under tsx, `dist/` when built) by path, size,
 * mtime and inode, with package.json and the Node version. Stamps, not contents: reading the
 * ~2 MB of code cost a one-file replan 20-80 ms, and a build, an edit or an install writes the
 * files again. A built CLI has `dist/build-id` (scripts/bundle.mjs), whose content and stamps
 * (and `dist/cli/main.js`'s) stand for the walk of ~500 files: build again after editing dist/.
 */
let cached: string | null = null;

const CODE = /\.(js|mjs|cjs|ts|json)$/;

export function codeFingerprint(): string {
  cached ??= fingerprintOf(dirname(dirname(fileURLToPath(import.meta.url))));
  return cached;
}

/** The fingerprint of the code under CODE_ROOT (`src/` or `dist/`), package.json beside it. */
export function fingerprintOf(codeRoot: string): string {
  const hash = createHash('sha256').update(`node ${process.version}\0`);
  try {
    hash.update(readFileSync(join(codeRoot, '..', 'package.json')));
  } catch {
    hash.update('no package.json');
  }
  const buildId = readBuildId(codeRoot);
  if (buildId !== null) hash.update(buildId);
  else {
    const files = readdirSync(codeRoot, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory() && CODE.test(e.name) && !e.name.endsWith('.d.ts'))
      .map((e) => relative(codeRoot, join(e.parentPath, e.name)));
    for (const path of files.sort()) hash.update(`${path} ${stamp(join(codeRoot, path))}\n`);
  }
  return hash.digest('hex').slice(0, 32);
}

/** dist/build-id with its stamps and main.js's, or null (from source, or an older build). */
function readBuildId(codeRoot: string): string | null {
  const path = join(codeRoot, 'build-id');
  try {
    return `build-id ${readFileSync(path, 'utf8').trim()} ${stamp(path)} ${stamp(join(codeRoot, 'cli', 'main.js'))}\n`;
  } catch {
    return null;
  }
}

function stamp(path: string): string {
  const s = statSync(path);
  return `${s.size} ${s.mtimeMs} ${s.ino}`;
}

/**
 * A record as two JSON lines: the head (the record with its plan's `changes` null, and the
 * visible changes, every one but noop, with their places) and the noops, about nine tenths of a
 * converged plan's bytes. Read back, only the head is parsed: `changes` is an accessor that
 * parses the noops and merges them in when first asked for (JSON output, `--out`, a PR comment);
 * text and Markdown output read the visible changes alone (model/plan.ts VISIBLE_CHANGES).
 * Either way the plan is the one remembered, byte for byte. A change whose `after` is `before`
 * byte for byte keeps `after` as a marker, never a value of the plan format.
 */
const SAME = '=before' as unknown as Change['after'];

/** What the record keeps of a plan's changes, beside the rest of its head. */
interface ChangesHead {
  total: number;
  /** The visible changes' places in `changes`, ascending. */
  at: number[];
  visible: Change[];
}

/** RECORD as the two lines of its entry. */
export function encodeRecord(record: { result: { plan: Plan } }): string {
  const { plan } = record.result;
  const at: number[] = [];
  const visible: Change[] = [];
  const noops: Change[] = [];
  plan.changes.forEach((c, i) => {
    const kept = sameAfter(c);
    if (c.action === 'noop') noops.push(kept);
    else {
      at.push(i);
      visible.push(kept);
    }
  });
  const changes: ChangesHead = { total: plan.changes.length, at, visible };
  const head = { ...record, result: { ...record.result, plan: { ...plan, changes: null } } };
  return `${JSON.stringify({ head, changes })}\n${JSON.stringify(noops)}`;
}

/**
 * The record of BODY (encodeRecord's), its plan's noops parsed when first asked for; null when
 * BODY is not one. BODY is a verified cache entry (DiskCache): the rest parses as written.
 */
export function decodeRecord<R extends { result: { plan: Plan } }>(body: string): R | null {
  const newline = body.indexOf('\n');
  if (newline < 0) return null;
  const { head, changes } = JSON.parse(body.slice(0, newline)) as { head: R; changes: ChangesHead };
  const plan = head?.result?.plan;
  if (!plan || plan.changes !== null || !changes || changes.at.length !== changes.visible.length)
    return null;
  const visible = changes.visible.map(afterSame);
  const rest = body.slice(newline + 1);
  let all: Change[] | null = null;
  const materialise = (): Change[] => (all ??= merge(changes.total, changes.at, visible, rest));
  Object.defineProperty(plan, 'changes', {
    get: materialise,
    set(value: Change[]) {
      all = value;
    },
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(plan, VISIBLE_CHANGES, { value: visible, enumerable: false });
  if (off('lazy-record')) void plan.changes;
  return head;
}

function merge(total: number, at: number[], visible: Change[], rest: string): Change[] {
  const noops = (JSON.parse(rest) as Change[]).map(afterSame);
  if (noops.length + visible.length !== total)
    throw new Error(`plan record: ${noops.length} + ${visible.length} changes, not ${total}`);
  const out: Change[] = new Array<Change>(total);
  let v = 0;
  let n = 0;
  for (let i = 0; i < total; i++) out[i] = at[v] === i ? visible[v++]! : noops[n++]!;
  return out;
}

function sameAfter(c: Change): Change {
  return c.before !== null && JSON.stringify(c.before) === JSON.stringify(c.after)
    ? { ...c, after: SAME }
    : c;
}

function afterSame(c: Change): Change {
  if (c.after === SAME) c.after = c.before;
  return c;
}
