/**
 * Plan files (`poolsync plan --out FILE`, also `--output json`): the one module that writes and
 * reads them. Written: the plan.md JSON format with a `seal` last, only when check 4 holds (a
 * plan the CLI saves, it applies), never over a file that is no plan. Read, in this order, each
 * refusal naming the file and what to do:
 *   1. JSON, an object, of this `format_version`;
 *   2. the seal matches the content (with the key when one is set): the file is exactly what
 *      poolsync wrote, so what `show` renders is what `apply` runs;
 *   3. it names the control plane it was made for, and the plan schema (schemas/plan.schema.json),
 *      the one validator of the format, holds;
 *   4. every step is accounted for by the plan's changes, its arguments and their diff, every
 *      change by a step, in the planner's order (src/plan/steps.ts), and its summary counts its
 *      changes, each step id and call once (src/plan/saved-plan.ts): this also refuses a plan
 *      whose unkeyed seal was recomputed after an edit. What no change shows (a wait_idle's
 *      queues, each step's execution) `apply` makes
 *      again from the live state and the control plane (steps.ts unplannedStep).
 */
import { readFileSync } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Ajv2020 as Ajv2020Class, ValidateFunction } from 'ajv/dist/2020.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../model/plan.js';
import { unaccountedStep } from '../plan/steps.js';
import { editedPlanPart } from '../plan/saved-plan.js';
import { escapeJsonForTerminal } from '../util/terminal-text.js';
import {
  entryKind,
  readUserFile,
  readUserFileInChunks,
  writeTextParts,
} from '../util/safe-file.js';
import { IndentedJsonReader } from '../util/indented-json.js';
import { LARGE_INPUT_BYTES, largeInputLoaded, largeInputRead } from '../util/heap-growth.js';
import { jsonParts } from '../util/json-parts.js';
import { planDocument } from './json.js';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { constantTimeEqual } from '../util/constant-time.js';
import { typeWords } from '../util/redact.js';
import { isNewerFormat, newerFormatMessage } from '../util/format-version.js';

/** Every refusal of a plan file: the message says which file, what is wrong and what to do. */
export class PlanFileError extends Error {
  override readonly name = 'PlanFileError';
}

/**
 * Keeps a wrong path (an image, a log) from being read whole: over twice the 223 MB of 100,000
 * creates (bench/history.md), and under V8's longest string, which a file read whole becomes.
 */
export const MAX_PLAN_BYTES = 500 * 1024 * 1024;

/**
 * Far deeper than a plan nests (under 10 levels): deeper text is refused before JSON.parse, which
 * spent 11 s and 1.4 GB on 30 MB of `[`.
 */
export const MAX_PLAN_DEPTH = 64;

/** schemas/ sits two levels above this module both in src/render and dist/render. */
const SCHEMA_URL = new URL('../../schemas/plan.schema.json', import.meta.url);

const PLAN_AGAIN = 'save a plan with `poolsync plan --out FILE`';

let validator: ValidateFunction | null = null;
export function planValidator(): ValidateFunction {
  if (!validator) {
    // Loaded when a plan file is read, not by every process that writes one: ajv's compiler
    // cost `plan` ~40 ms of start-up.
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as {
      Ajv2020: typeof Ajv2020Class;
    };
    // useDefaults: a field a plan of an earlier build lacks takes its default (docs/versioning.md).
    const ajv = new Ajv2020({ strict: false, allErrors: false, useDefaults: true });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object);
  }
  return validator;
}

/**
 * The sealed plan file in parts (for writeParts), `"seal"` its last member: each part is hashed
 * as it is handed on, and the seal goes where the closing brace was.
 */
export function* planFileParts(plan: Plan, key: PlanKey): Generator<string> {
  // A sealed plan always names its control plane: apply refuses it anywhere else.
  if (!plan.control_plane)
    throw new Error('a plan file must name the control plane it was made for');
  // What `apply FILE` refuses is never written: a plan the CLI saves is a plan it applies.
  const unaccounted = unaccountedStep(plan) ?? editedPlanPart(plan);
  if (unaccounted !== null)
    throw new Error(`poolsync planned a plan its own apply would refuse: ${unaccounted}`);
  const digest = sealDigest(key);
  let held: string | null = null;
  for (const part of jsonParts(withoutSeal(planDocument(plan)), 2, 2)) {
    digest.update(part, 'utf8');
    if (held !== null) yield escapeJsonForTerminal(held);
    held = part;
  }
  // The last part of an object is its closing brace: the seal goes before it.
  if (held !== '\n}') throw new Error(`a plan document ends with ${JSON.stringify(held)}`);
  yield `,\n  "seal": ${JSON.stringify(sealText(key, digest))}\n}\n`;
}

/**
 * `plan --out`: the sealed plan file written to `path` part by part, each encoded straight into
 * one buffer (writeTextParts): a buffer made per part cost ~0.3 s of page faults at 100,000
 * creates (223 MB), and a part joined to the next is copied again (issue 79).
 */
export async function writePlanFile(path: string, plan: Plan, key: PlanKey): Promise<void> {
  await refusePlanOut(path);
  const file = await open(path, 'w');
  try {
    await writeTextParts(file, planFileParts(plan, key));
  } finally {
    await file.close();
  }
}

/** How a plan file of any format version begins, however indented: known without reading it whole. */
const PLAN_HEAD = /^\uFEFF?\{\s*"format_version"\s*:\s*"[^"]*"\s*,\s*"desired_fingerprint"\s*:/;

/**
 * `plan --out`, checked before planning and again as it writes: a plan is saved only to a
 * regular file, the only kind `show` and `apply` read (`--out /dev/null` saved nothing to apply,
 * `--out /dev/stdout` wrote into whatever stdout was), never through a link. Only a plan file
 * (re-planned to the same path) or an empty one (`mktemp`) is written over: `--out` naming the
 * control plane's state file replaced its snapshot.
 */
export async function refusePlanOut(path: string): Promise<void> {
  const elsewhere = 'name a file (the plan on stdout is `--output json`, sealed as a plan file is)';
  if (path === '-')
    throw new PlanFileError(`--out - names no file: a plan is saved only to a file; ${elsewhere}`);
  const found = await lstat(path).catch(() => null);
  if (found === null) return;
  const kind = entryKind(found);
  if (kind !== null)
    throw new PlanFileError(
      `--out ${path} is a ${kind}, not a regular file: a plan is saved only to a regular file, which \`poolsync apply\` reads back, never through a link; ${elsewhere}`,
    );
  if (found.size === 0) return;
  const file = await open(path, 'r');
  const head = Buffer.alloc(512);
  try {
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (PLAN_HEAD.test(head.subarray(0, bytesRead).toString('utf8'))) return;
  } finally {
    await file.close();
  }
  throw new PlanFileError(
    `--out ${path}: the file exists and is not a poolsync plan file, so the plan was not saved over it; choose another --out, or remove the file first`,
  );
}

/** A plan file read, checked and verified; a refusal is a PlanFileError. */
export async function readPlanFile(path: string, opts: { key: PlanKey }): Promise<Plan> {
  const found = await stat(path).catch(() => null);
  if (found?.isFile() && found.size > MAX_PLAN_BYTES)
    throw new PlanFileError(
      `${path} is not a plan: it is ${found.size} bytes, more than a plan file's bound of ${MAX_PLAN_BYTES} bytes (500 MiB; 100,000 creates are 223 MB); ${PLAN_AGAIN}`,
    );
  const streamed = await readStreamed(path, opts.key);
  if (streamed !== null) return checkedPlan(streamed.doc, path, opts.key, streamed.sealed);
  let buf: Buffer;
  try {
    buf = await readUserFile(path, { maxBytes: MAX_PLAN_BYTES, what: 'plan file' });
  } catch (err) {
    throw new PlanFileError(`${(err as Error).message}; ${PLAN_AGAIN}`);
  }
  if (nestsDeeperThan(buf, MAX_PLAN_DEPTH))
    throw new PlanFileError(
      `${path} is not a plan: its JSON nests deeper than ${MAX_PLAN_DEPTH} levels (a plan nests under 10); ${PLAN_AGAIN}`,
    );
  return parsePlanFile(buf.toString('utf8'), path, opts);
}

/** `text` (the content of `where`) as a plan, or a PlanFileError saying why not. */
export function parsePlanFile(text: string, where: string, opts: { key: PlanKey }): Plan {
  // An editor's byte-order mark is no part of the plan: the seal is over the content after it.
  const content = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    // Never the parser's message: it quotes the text, which may be anything (a linked secret).
    const again = 'make the plan again with `poolsync plan --out FILE`';
    if (content.length === 0)
      throw new PlanFileError(`${where} is empty (0 bytes), not a plan; ${again}`);
    if (endsEarly(content))
      throw new PlanFileError(
        `${where} is not a plan: it ends before the JSON does (truncated?); ${again}`,
      );
    throw new PlanFileError(`${where} is not a plan: not JSON; ${PLAN_AGAIN}`);
  }
  return checkedPlan(data, where, opts.key, false);
}

/** Whether JSON text stops inside a string or an open object or array: a file cut short. */
function endsEarly(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // To the closing quote: a backslash takes the character after it.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (i >= text.length) return true;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return depth > 0;
}

/**
 * Whether JSON bytes nest deeper than `max` brackets, strings skipped: one pass over the bytes
 * (1.3 s at 223 MB on a loaded 2-core machine, against JSON.parse's 2.9 s), made only for a file
 * read whole.
 */
function nestsDeeperThan(bytes: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      // To the closing quote: a backslash takes the byte after it.
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Of the seal's line, the longest: `,\n  "seal": "hmac-sha256:…"\n}\n`. */
const SEAL_LINE_BYTES = 128;

/**
 * A plan file as poolsync writes it, read as it streams in (IndentedJsonReader): the file is
 * never held whole, nor its text (at 100,000 creates 223 MB, and ~1.5 GB of peak RSS with the
 * parse and a re-serialisation for the seal, issue 79). Its bytes are hashed as they are read, but
 * for the seal's line: `sealed` when they are the text the seal was made of, which they are in a
 * file poolsync wrote without escapes (check 2 without serialising the plan again; an unkeyed seal
 * anyone can compute over any bytes anyway). Null when it is not laid out as poolsync writes
 * (re-indented, cut, not JSON) or cannot be read: read whole, for the refusal's words.
 */
async function readStreamed(
  path: string,
  key: PlanKey,
): Promise<{ doc: Record<string, unknown>; sealed: boolean } | null> {
  const reader = new IndentedJsonReader();
  const digest = sealDigest(key);
  let unhashed = Buffer.alloc(0);
  let read = 0;
  try {
    await readUserFileInChunks(path, { maxBytes: MAX_PLAN_BYTES, what: 'plan file' }, (bytes) => {
      // A large plan is a large input (src/util/heap-growth.ts), as a large repository is.
      if ((read += bytes.length) > LARGE_INPUT_BYTES) largeInputRead();
      reader.push(bytes);
      // Hashed but the last bytes read, which may be the seal's line (kept: `bytes` is reused).
      if (bytes.length < SEAL_LINE_BYTES) bytes = Buffer.concat([unhashed, bytes]);
      else digest.update(unhashed);
      const cut = Math.max(0, bytes.length - SEAL_LINE_BYTES);
      digest.update(bytes.subarray(0, cut));
      unhashed = Buffer.from(bytes.subarray(cut));
    });
  } catch {
    return null;
  } finally {
    if (read > LARGE_INPUT_BYTES) largeInputLoaded();
  }
  const doc = reader.finish();
  if (doc === null) return null;
  const seal = typeof doc.seal === 'string' && SEAL_PATTERN.test(doc.seal) ? doc.seal : null;
  const line = seal === null ? null : Buffer.from(`,\n  "seal": "${seal}"\n}\n`);
  if (line === null || !unhashed.subarray(-line.length).equals(line)) return { doc, sealed: false };
  digest.update(unhashed.subarray(0, unhashed.length - line.length));
  digest.update('\n}', 'utf8');
  return { doc, sealed: constantTimeEqual(sealText(key, digest), seal!) };
}

/** Checks 1-4 of a plan file's document; check 2 already made when `sealed`. */
function checkedPlan(data: unknown, where: string, key: PlanKey, sealed: boolean): Plan {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new PlanFileError(`${where} is not a plan: expected a JSON object; ${PLAN_AGAIN}`);
  const doc = data as Record<string, unknown>;
  const other = otherReport(doc);
  if (other !== null) throw new PlanFileError(`${where} is not a plan but ${other}; ${PLAN_AGAIN}`);
  const version = doc.format_version;
  if (version === undefined)
    throw new PlanFileError(`${where} is not a plan: it has no format_version; ${PLAN_AGAIN}`);
  // A plan is short-lived (docs/versioning.md): making it again is the other way out.
  if (isNewerFormat(version, PLAN_FORMAT_VERSION))
    throw new PlanFileError(
      `${newerFormatMessage(where, version, PLAN_FORMAT_VERSION)}, or plan again with this version`,
    );
  // An older format number is a version, shown; anything else is content, named by its type.
  if (version !== PLAN_FORMAT_VERSION)
    throw new PlanFileError(
      `${where} has a format_version this poolsync does not read (${typeof version === 'string' && /^\d{1,9}$/.test(version) ? `format_version "${version}"` : typeWords(version)}, not "${PLAN_FORMAT_VERSION}" ` +
        `nor a newer format number): plan again with this version`,
    );
  if (!sealed) verifySeal(doc, where, key);
  // Without it the plan would apply to any control plane (a seal without a key can be made again).
  if (doc.control_plane === undefined)
    throw new PlanFileError(
      `${where} names no control plane: a plan applies only to the control plane it was made for; ${PLAN_AGAIN}`,
    );
  const validate = planValidator();
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    const at = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
    throw new PlanFileError(
      `${where} is not a valid plan: ${at} ${e?.message ?? 'is invalid'}; ${PLAN_AGAIN}`,
    );
  }
  const plan = doc as unknown as Plan;
  const unaccounted = unaccountedStep(plan) ?? editedPlanPart(plan);
  if (unaccounted !== null)
    throw new PlanFileError(
      `${where} is refused: ${unaccounted}: the file was edited after poolsync made it (a plan runs only what its changes show, and an unkeyed seal can be made again); ${PLAN_AGAIN}`,
    );
  return plan;
}

/** The other JSON poolsync writes that is passed as a plan, known by its shape; null: none. */
function otherReport(doc: Record<string, unknown>): string | null {
  if (doc.kind === 'refresh-only' && Array.isArray(doc.drift))
    return 'a drift report (`poolsync plan --refresh-only --output json`), which lists what changed outside poolsync and has nothing to apply';
  if (typeof doc.outcome === 'string' && typeof doc.steps_by_status === 'object')
    return 'the result of an apply (`poolsync apply --output json`), which says what ran: nothing in it runs again';
  return null;
}

function verifySeal(doc: Record<string, unknown>, where: string, key: PlanKey): void {
  const seal = doc.seal;
  const kind = typeof seal === 'string' ? SEAL_PATTERN.exec(seal)?.[1] : undefined;
  if (kind === undefined)
    throw new PlanFileError(
      seal === undefined
        ? `${where} has no seal: it was made by an earlier poolsync, before plans were sealed (or its seal was removed), and only a sealed plan is shown or applied: run \`poolsync plan --out ${where}\` again`
        : `${where} has a seal poolsync does not understand (${JSON.stringify(seal).slice(0, 80)}); ${PLAN_AGAIN}`,
    );
  if (kind === 'hmac-sha256' && key === null)
    throw new PlanFileError(
      `${where} is sealed with a key (hmac-sha256) and no key is set: set POOLSYNC_PLAN_KEY or ` +
        'POOLSYNC_PLAN_KEY_FILE to the key it was planned with',
    );
  if (kind === 'sha256' && key !== null)
    throw new PlanFileError(
      `${where} is not sealed with a key, and POOLSYNC_PLAN_KEY is set: only a plan sealed with ` +
        'that key is accepted (anyone can compute an unkeyed seal); plan again with the key set',
    );
  if (!constantTimeEqual(sealOf(doc, key), seal as string))
    throw new PlanFileError(
      `${where} was changed after poolsync wrote it: its seal does not match its content` +
        (kind === 'hmac-sha256' ? ' (or it was sealed with another key)' : '') +
        `. Refused: review and save the plan again with \`poolsync plan --out ${where}\``,
    );
}

/**
 * The seal of a plan file (docs/plan.md, Sealed plan files): a digest of the plan's canonical
 * text without its `seal` (`JSON.stringify(plan, null, 2)`, as the file is written). A reader
 * re-serialises what it parsed, so a file re-indented by a tool still verifies; any value, key
 * order or member that differs does not. Unkeyed, anyone can compute it again; with a key
 * (POOLSYNC_PLAN_KEY or POOLSYNC_PLAN_KEY_FILE) it is an HMAC-SHA256 only a holder of the key can
 * make, and a reader with the key accepts no other seal (docs/security.md).
 */
const SEAL_PATTERN = /^(sha256|hmac-sha256):([0-9a-f]{64})$/;

/** The key, or null for an unkeyed seal. */
export type PlanKey = Buffer | null;

/** An incremental digest of the canonical text, fed part by part (a plan can run to 130 MB). */
function sealDigest(key: PlanKey): Hash | Hmac {
  return key === null ? createHash('sha256') : createHmac('sha256', key);
}

function sealText(key: PlanKey, digest: Hash | Hmac): string {
  return `${key === null ? 'sha256' : 'hmac-sha256'}:${digest.digest('hex')}`;
}

export function sealOf(doc: Record<string, unknown>, key: PlanKey): string {
  const digest = sealDigest(key);
  for (const part of jsonParts(withoutSeal(doc), 2, 2)) digest.update(part, 'utf8');
  return sealText(key, digest);
}

function withoutSeal(doc: Record<string, unknown>): Record<string, unknown> {
  if (!('seal' in doc)) return doc;
  const { seal: _seal, ...rest } = doc;
  return rest;
}
