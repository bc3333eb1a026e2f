/**
 * The live state as the last successful apply left it (also one with nothing to do), for
 * `plan --refresh-only` (drift). Where: lock.ts statePathFor.
 */
import { resolve } from 'node:path';
import type { LiveState } from '../model/live.js';
import type { LastApplied } from '../plan/refresh.js';
import { jsonParts } from '../util/json-parts.js';
import { writeOwnFile } from '../util/safe-file.js';
import { readStateBytes } from '../util/state-file.js';
import { refuseTrackedFiles } from '../util/tracked.js';
import { UserError } from '../util/user-error.js';
import { refuseNewer } from '../util/format-version.js';
import { DEFAULT_STATE_DIR, statePathFor, stateRootOf } from './lock.js';
import { liveStateProblem } from '../model/shapes.js';

/** A record is the live state's JSON: as large as the control plane's (100,000 objects: ~40 MB). */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;
const WHAT = 'last-applied record';

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
  await refuseTrackedFiles(root, [resolve(path)], WHAT);
  // Written whole then renamed (safe-file.ts): a reader never sees half a file. In parts (the
  // lists in slices), never one string: ~40 MB at 100,000 objects, at apply's peak.
  await writeOwnFile(root, resolve(path), jsonLine(record), { what: WHAT, mode: 0o644 });
}

function* jsonLine(record: LastApplied): Generator<string> {
  yield* jsonParts(record, 3);
  yield '\n';
}

export async function readLastApplied(path: string): Promise<LastApplied> {
  const root = stateRootOf(path, 'last-applied');
  await refuseTrackedFiles(root, [resolve(path)], WHAT);
  const bytes = await readStateBytes(root, resolve(path), {
    maxBytes: MAX_RECORD_BYTES,
    what: WHAT,
  });
  if (bytes === null)
    throw new UserError(
      `--refresh-only compares with the state the last \`poolsync apply\` left, recorded in ${path}, ` +
        `which does not exist: nothing was applied to this control plane from here yet (or with another --state-dir). Run \`poolsync apply\` first.`,
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
  return record;
}
