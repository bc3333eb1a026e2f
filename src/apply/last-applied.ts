/**
 * The live state as the last successful apply left it (also one with nothing to do), for
 * `plan --refresh-only` (drift), and beside it the mark of an apply that began after it and has
 * not finished (`.started.json`). Where: lock.ts statePathFor.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LiveState } from '../model/live.js';
import type { LastApplied } from '../plan/refresh.js';
import { jsonParts } from '../util/json-parts.js';
import { removeOwnFile, writeOwnFile } from '../util/safe-file.js';
import { readStateBytes } from '../util/state-file.js';
import { refuseTrackedFiles } from '../util/tracked.js';
import { UserError } from '../util/user-error.js';
import { refuseNewer } from '../util/format-version.js';
import { DEFAULT_STATE_DIR, statePathFor, stateRootOf } from './lock.js';
import { liveStateProblem } from '../model/shapes.js';

/** A record is the live state's JSON: as large as the control plane's (100,000 objects: ~40 MB). */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;
const WHAT = 'last-applied record';
const STARTED = 'apply-started mark';
const MAX_MARK_BYTES = 64 * 1024;

/** An apply from here that began (before its first step) and has not yet recorded what it left. */
export interface ApplyStarted {
  format_version: '1';
  started_at: string;
  commit: string | null;
}

/** Beside the record it stands for: `X.last-applied.started.json`, `last-applied/H.started.json`. */
export const startedPathOf = (recordPath: string): string =>
  recordPath.replace(/\.json$/, '.started.json');

/**
 * Before the first step: until the record replaces it, refresh-only knows an apply began. What it
 * returns puts back the mark that was there (an earlier apply's that did not finish), or none.
 */
export async function writeApplyStarted(
  recordPath: string,
  commit: string | null,
  startedAt: string = new Date().toISOString(),
): Promise<() => Promise<void>> {
  const path = resolve(startedPathOf(recordPath));
  const root = stateRootOf(path, 'last-applied');
  await refuseTrackedFiles(root, [path], STARTED);
  await refuseNewerRecord(recordPath);
  const was = await readStateBytes(root, path, { maxBytes: MAX_MARK_BYTES, what: STARTED });
  const mark: ApplyStarted = { format_version: '1', started_at: startedAt, commit };
  // Durable: it is what is left when the machine itself goes down part-way.
  const options = { what: STARTED, mode: 0o644, durable: true };
  await writeOwnFile(root, path, `${JSON.stringify(mark)}\n`, options);
  return () =>
    was === null ? removeOwnFile(root, path, STARTED) : writeOwnFile(root, path, was, options);
}

/**
 * When the apply from here that has not finished began (its mark's `started_at`); null: none, or
 * a mark this build cannot read (then what the inventory holds pending is taken as before).
 */
export async function unfinishedApplyStartedAt(recordPath: string): Promise<string | null> {
  const path = resolve(startedPathOf(recordPath));
  try {
    return (await readApplyStarted(stateRootOf(path, 'last-applied'), path))?.started_at ?? null;
  } catch {
    return null;
  }
}

/** What a newer build recorded stays for it (docs/versioning.md): refused before it is replaced. */
async function refuseNewerRecord(recordPath: string): Promise<void> {
  for (const file of [resolve(recordPath), resolve(startedPathOf(recordPath))])
    refuseNewer(file, await formatOnDisk(file), '1');
}

/**
 * The `format_version` a record or mark starts with (written first), from its first bytes: a
 * record is ~40 MB at 100,000 objects, and the rest is not read here. Null when absent.
 */
async function formatOnDisk(path: string): Promise<string | null> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (file === null) return null;
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(128), 0, 128, 0);
    return (
      /^\{\s*"format_version"\s*:\s*"(\d+)"/.exec(buffer.toString('utf8', 0, bytesRead))?.[1] ??
      null
    );
  } finally {
    await file.close();
  }
}

export function lastAppliedPathFor(url: string, stateDir: string = DEFAULT_STATE_DIR): string {
  return statePathFor(url, stateDir, ['last-applied.json', 'last-applied', '.json']);
}

export async function writeLastApplied(path: string, live: LiveState, commit: string | null) {
  const record: LastApplied = {
    format_version: '1',
    applied_at: new Date().toISOString(),
    commit,
    live,
  };
  const root = stateRootOf(path, 'last-applied');
  const started = resolve(startedPathOf(path));
  await refuseTrackedFiles(root, [resolve(path), started], WHAT);
  await refuseNewerRecord(path);
  // Written whole then renamed (safe-file.ts): a reader never sees half a file. In parts (the
  // lists in slices), never one string: ~40 MB at 100,000 objects, at apply's peak.
  await writeOwnFile(root, resolve(path), jsonLine(record), { what: WHAT, mode: 0o644 });
  // The apply it marked is the one recorded now.
  await removeOwnFile(root, started, STARTED);
}

function* jsonLine(record: LastApplied): Generator<string> {
  yield* jsonParts(record, 3);
  yield '\n';
}

/**
 * The record, and the apply that began after it and did not finish (null: none; also when no
 * mark is there, as before marks were kept, or an earlier build's apply recorded since).
 */
export async function readLastApplied(
  path: string,
): Promise<{ last: LastApplied; unfinished: ApplyStarted | null }> {
  const root = stateRootOf(path, 'last-applied');
  await refuseTrackedFiles(root, [resolve(path), resolve(startedPathOf(path))], WHAT);
  const started = await readApplyStarted(root, resolve(startedPathOf(path)));
  const bytes = await readStateBytes(root, resolve(path), {
    maxBytes: MAX_RECORD_BYTES,
    what: WHAT,
  });
  if (bytes === null)
    throw new UserError(
      `--refresh-only compares with the state the last \`poolsync apply\` left, recorded in ${path}, ` +
        (started === null
          ? `which does not exist: nothing was applied to this control plane from here yet (or with another --state-dir). Run \`poolsync apply\` first.`
          : `which does not exist: an apply from here started at ${startedWords(started)} and never completed, so nothing was recorded to compare with. Run \`poolsync apply\` to finish it; --refresh-only then compares with what it left.`),
    );
  let record: LastApplied;
  try {
    record = JSON.parse(bytes.toString('utf8')) as LastApplied;
  } catch {
    // Never the parser's message: it quotes the text, and the file may be anything.
    throw new UserError(
      `${path} is not JSON: delete it and run \`poolsync apply\` to record it again`,
    );
  }
  refuseNewer(path, record?.format_version, '1');
  const problem =
    record?.format_version !== '1'
      ? 'its format_version is not "1"'
      : liveStateProblem(record.live);
  if (problem !== null)
    throw new UserError(
      `${path} is not a last-applied record of this poolsync version (${problem}): delete it and run \`poolsync apply\` to record it again`,
    );
  // ISO times of one format: in order as strings.
  const unfinished = started !== null && started.started_at >= record.applied_at ? started : null;
  return { last: record, unfinished };
}

/** `2026-…Z (commit abc…)`: when and from which commit an apply started. */
function startedWords(s: Pick<ApplyStarted, 'started_at' | 'commit'>): string {
  return `${s.started_at}${s.commit ? ` (commit ${s.commit.slice(0, 12)})` : ''}`;
}

async function readApplyStarted(root: string, path: string): Promise<ApplyStarted | null> {
  const bytes = await readStateBytes(root, path, { maxBytes: MAX_MARK_BYTES, what: STARTED });
  if (bytes === null) return null;
  let mark: Partial<ApplyStarted> | null = null;
  try {
    mark = JSON.parse(bytes.toString('utf8')) as Partial<ApplyStarted>;
  } catch {
    // Never the parser's message: it quotes the text.
  }
  refuseNewer(path, mark?.format_version, '1');
  if (
    mark?.format_version !== '1' ||
    typeof mark.started_at !== 'string' ||
    (mark.commit !== null && typeof mark.commit !== 'string')
  )
    throw new UserError(
      `${path} is not an ${STARTED} of this poolsync version: delete it (it only says that an apply from here began and has not finished)`,
    );
  return mark as ApplyStarted;
}
