/**
 * The CLI's memory between runs (issue 35): `poolsync plan` remembers its last valid result
 * for each config folder, under keys derived from everything the result was derived from, and
 * re-derives only what changed. The cache at the edge of the pure loader and planner:
 *
 * - the desired key: poolsync's code (code-fingerprint.ts), the folder, the options that shape
 *   the plan (commit, --target, --replace, --accept-cascade, the backend), poolsync.yaml as
 *   read, the files the loader reads and, for each, a hash of its analysis (what the loader
 *   makes of the file on its own: documents, positions, issues). A file whose text changed is
 *   parsed again; when its analysis is what it was (a comment, a blank line at its end), the
 *   key is too, and nothing else is read again;
 * - the live key: a hash of the live state as read (the inventory included); and, from a
 *   control plane that has one (the embedded one read-only: ControlPlane.stateKey), a key of
 *   its state files' identity, which when equal spares reading the live state at all.
 *
 * When both match, the remembered plan is the answer; the live state is read first only when
 * the desired key matched, so an invalid repository is reported before the control plane is
 * asked anything (as without the memory). Otherwise the pipeline runs as before and its result
 * is remembered. A folder with `environments:` or `render:`, a file that cannot be read, or a
 * repository near the memory budget is never remembered: it always takes the full path.
 *
 * The record is one entry of a DiskCache (disk-cache.ts) under `<cache>/plans`: never
 * the checkout, HMAC-verified (a forged or foreign record is a miss), written atomically, safe
 * to lose. Its plan's noop changes are parsed only when asked for (plan-record.ts). `POOLSYNC_CACHE_DIR=off` turns it off.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { userCacheDir } from '../util/user-cache.js';
import { DiskCache } from './disk-cache.js';
import { analyseFile } from '../manifests/index.js';
import type { FileAnalysis, LoaderOptions } from '../manifests/analysis-port.js';
import { readRepoConfig, type ConfigResult } from '../manifests/config.js';
import { readWalkedManifestText } from '../manifests/files.js';
import { checkFolder } from '../manifests/folder.js';
import { withoutRoots } from '../manifests/index.js';
import { heapBudget, overBudget } from '../manifests/memory-budget.js';
import type { LoadCounts, ValidationError } from '../manifests/types.js';
import { findManifestFiles, type WalkResult } from '../manifests/walk.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import type { PlanShapeOptions } from '../plan/plan-against.js';
import { codeFingerprint } from './code-fingerprint.js';
import { decodeRecord, encodeRecord } from './plan-record.js';

const FORMAT = 'poolsync-plan-memory-4';
/** The bound on a record's bytes: a plan of 100,000 objects is ~100 MB of JSON. */
const MAX_RECORD_BYTES = 1024 * 1024 * 1024;
/** Records kept across folders (one per folder and options), oldest dropped first. */
const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

/** What the CLI reads of the desired state besides the plan. */
export interface DesiredFacts {
  /** The folder declares no object (cli/config-folder.ts declaresNothing). */
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

export interface MemoryOptions extends PlanShapeOptions, LoaderOptions {
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
  const v = env.POOLSYNC_CACHE_DIR;
  if (v !== undefined) {
    const t = v.trim();
    return t === '' || t === 'off' ? null : resolve(t);
  }
  return userCacheDir('manifests', env);
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
  if (record && stateKey !== null && record.stateKey === stateKey) {
    const { plan, counts, facts } = record.result;
    return { ok: true, plan, counts, facts, desired: null, reused: true };
  }
  if (record) {
    // The settings the remembered plan read: the same repository needs the same (live-scope.ts).
    const read = record.result.plan.default_queues_read;
    live = await readLive(() => read ?? 'all');
    if (sha256(JSON.stringify(live)) === record.liveKey) {
      const { plan, counts, facts } = record.result;
      return { ok: true, plan, counts, facts, desired: null, reused: true };
    }
  }
  const analyses = new Map<string, FileAnalysis>();
  const made = await opts.planFolder(
    dir,
    readLive,
    { ...opts, onAnalysed: inputs ? (file, a) => analyses.set(file, a) : undefined },
    live,
  );
  if (!made.ok) return { ok: false, errors: made.errors, counts: made.counts };
  const { plan, live: liveNow, desired, counts } = made;
  const facts = opts.facts(desired);
  if (inputs && !desired.config.render) {
    // Asked again after the read: a lazy open's first key is of the files alone, and a state
    // that drains with time has none (ControlPlane.stateKey); kept only when both agree.
    const keyAfter = stateKey !== null ? await opts.stateKey!() : null;
    await memory!.remember(inputs, analyses, liveNow, keyAfter === stateKey ? stateKey : null, {
      plan,
      counts,
      facts,
    });
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
    // In synchronous calls, as the loader reads them (load-files.ts): ~117 small files cost
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
    const record = await this.read();
    if (record === null) return null;
    const names = Object.keys(record.files);
    if (names.length !== inputs.files.size) return null;
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

  private async read(): Promise<MemoryRecord | null> {
    const body = await this.disk.read(this.slot, MAX_RECORD_BYTES);
    if (body === null) return null;
    try {
      const record = decodeRecord<MemoryRecord>(body);
      return record?.format === FORMAT && record.slot === this.slot ? record : null;
    } catch {
      return null;
    }
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
