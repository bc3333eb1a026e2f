/**
 * Plan files (src/render/plan-file.ts): sealed when written, and read back only when they are
 * exactly what poolsync wrote — every value of the document, edited, is refused — and when
 * every step is accounted for by the plan's changes.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { renderJson } from '../../src/render/json.js';
import {
  MAX_PLAN_BYTES,
  MAX_PLAN_DEPTH,
  PlanFileError,
  parsePlanFile,
  planFileParts,
  readPlanFile,
  sealOf,
  writePlanFile,
} from '../../src/render/plan-file.js';
import { IndentedJsonReader } from '../../src/util/indented-json.js';
import { driftedScenario } from './scenarios.js';

const KEY = Buffer.from('a-key-for-the-ci-of-this-test-0123456789');
const OTHER_KEY = Buffer.from('another-key-nobody-planned-with-987654321');

const written = (plan: Plan, key: Buffer | null = null) => [...planFileParts(plan, key)].join('');
/** A plan edited by hand and sealed again without a key, as anyone can (poolsync writes none). */
const forged = (doc: Plan) => {
  const { seal: _seal, ...rest } = doc as Plan & { seal?: string };
  return JSON.stringify({ ...rest, seal: sealOf(rest, null) }, null, 2);
};
const read = (text: string, key: Buffer | null = null) => parsePlanFile(text, 'p.json', { key });

/** Every leaf of a JSON value with its path (arrays and objects included as leaves when empty). */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value) && value.length > 0)
    return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0)
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

/** A value of another type or content than `v`, as a hand edit would leave it. */
function edited(v: unknown): unknown {
  if (typeof v === 'number') return v + 7;
  if (typeof v === 'string') return v === '' ? 'x' : `${v}x`;
  if (typeof v === 'boolean') return !v;
  if (v === null) return 0;
  if (Array.isArray(v)) return ['x'];
  return { x: 1 };
}

function setAt(doc: unknown, path: (string | number)[], value: unknown): void {
  let at = doc as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
}

describe('plan files', () => {
  let plan: Plan;
  let text: string;
  beforeAll(async () => {
    plan = await driftedScenario();
    text = written(plan);
  });

  it('are the plan JSON with a seal last, and read back as the same plan', () => {
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(doc).at(-1)).toBe('seal');
    expect(doc.seal).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { seal: _s, ...rest } = doc;
    expect(JSON.stringify(rest, null, 2) + '\n').toBe(renderJson(plan));
    const back = read(text);
    expect({ ...back, seal: undefined }).toEqual({
      ...JSON.parse(renderJson(plan)),
      seal: undefined,
    });
    // Rendered again (show --output json), it is the same file.
    expect(renderJson(back)).toBe(text);
    expect(written(back)).toBe(text);
  });

  it('still verify when only the whitespace changed (a tool re-indented the file)', () => {
    expect(() => read(JSON.stringify(JSON.parse(text)))).not.toThrow();
    expect(() => read(JSON.stringify(JSON.parse(text), null, 4))).not.toThrow();
  });

  it('refuse an edit of any value, a removed or added member, a reordered list', () => {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const paths = leaves(doc).filter((p) => p[0] !== 'seal');
    expect(paths.length).toBeGreaterThan(200);
    for (const path of paths) {
      const copy = JSON.parse(text) as Record<string, unknown>;
      let value: unknown = copy;
      for (const p of path) value = (value as Record<string | number, unknown>)[p];
      setAt(copy, path, edited(value));
      expect(() => read(JSON.stringify(copy, null, 2)), path.join('.')).toThrow(
        path[0] === 'format_version'
          ? /has a format_version this poolsync does not read \(a string, not "1" nor a newer format number\)/
          : /was changed after poolsync wrote it/,
      );
    }
    const steps = (doc.steps as unknown[]).length;
    expect(steps).toBeGreaterThan(1);
    const reordered = JSON.parse(text) as { steps: unknown[] };
    reordered.steps.reverse();
    expect(() => read(JSON.stringify(reordered))).toThrow(/was changed after poolsync wrote it/);
    const removed = JSON.parse(text) as { steps: unknown[] };
    removed.steps.pop();
    expect(() => read(JSON.stringify(removed))).toThrow(/was changed after poolsync wrote it/);
    const added = JSON.parse(text) as Record<string, unknown>;
    added.note = 'reviewed';
    expect(() => read(JSON.stringify(added))).toThrow(/was changed after poolsync wrote it/);
    const unsealed = JSON.parse(text) as Record<string, unknown>;
    delete unsealed.seal;
    expect(() => read(JSON.stringify(unsealed))).toThrow(/has no seal/);
    expect(() => read(renderJson(plan))).toThrow(/has no seal/);
  });

  it('with a key: only that key verifies, and a reader with a key takes no unkeyed seal', () => {
    const keyed = written(plan, KEY);
    expect(JSON.parse(keyed).seal).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(() => read(keyed, KEY)).not.toThrow();
    expect(() => read(keyed)).toThrow(/sealed with a key \(hmac-sha256\) and no key is set/);
    expect(() => read(keyed, OTHER_KEY)).toThrow(/changed after poolsync wrote it.*another key/);
    expect(() => read(text, KEY)).toThrow(/not sealed with a key, and POOLSYNC_PLAN_KEY is set/);
    // An unkeyed seal recomputed over an edit fools no reader that holds the key.
    const doc = JSON.parse(keyed) as { steps: { args: Record<string, unknown> }[] };
    doc.steps[0]!.args.name = 'other';
    expect(() => read(forged(doc as unknown as Plan), KEY)).toThrow(/not sealed with a key/);
  });

  it('always name their control plane: one without, sealed again without a key, is refused', () => {
    expect(JSON.parse(text).control_plane).toMatchObject({ endpoint: expect.any(String) });
    const { control_plane: _cp, ...anywhere } = JSON.parse(text) as Plan;
    const resealed = JSON.stringify({ ...anywhere, seal: sealOf(anywhere, null) }, null, 2);
    expect(() => read(resealed)).toThrow(
      'p.json names no control plane: a plan applies only to the control plane it was made for',
    );
    expect(() => written(anywhere as Plan)).toThrow(/must name the control plane/);
  });

  it('refuse a step the changes do not account for, even when the seal is made again', () => {
    const doc = JSON.parse(text) as Plan;
    // An injected delete of a cluster the plan only updates.
    const update = doc.changes.find((c) => c.kind === 'Cluster' && c.action === 'update')!;
    const injected = {
      ...doc,
      steps: [
        ...doc.steps,
        {
          id: `s${doc.steps.length + 1}`,
          op: 'delete_cluster' as const,
          target: update.address,
          depends_on: [],
          args: { name: update.name },
          execution: 'api' as const,
        },
      ],
    };
    // poolsync never writes them: the same check runs when it saves a plan.
    expect(() => written(injected)).toThrow(/a plan its own apply would refuse/);
    expect(() => read(forged(injected))).toThrow(
      new RegExp(
        `step s${doc.steps.length + 1} \\(delete_cluster ${update.address}\\) does not realise the change the plan shows for it \\(update\\)`,
      ),
    );
    // A delete of an object the plan has no change for.
    const nowhere = structuredClone(injected);
    nowhere.steps.at(-1)!.target = 'Cluster/elsewhere';
    (nowhere.steps.at(-1)!.args as { name: string }).name = 'elsewhere';
    expect(() => read(forged(nowhere))).toThrow(/shows no change for/);
    // A step of a delete the plan shows, whose arguments name another cluster.
    const del = structuredClone(doc);
    const step = del.steps.find((s) => s.op === 'delete_cluster')!;
    (step.args as { name: string }).name = 'prod-us-east-1';
    expect(() => read(forged(del))).toThrow(/has arguments naming Cluster\/prod-us-east-1/);
    expect(() => read(forged(del))).toThrow(PlanFileError);
  });

  describe('on disk', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'poolsync-plan-file-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('written by writePlanFile as planFileParts has it, and read back as parsePlanFile reads it', async () => {
      const file = join(dir, 'written.json');
      for (const key of [null, KEY]) {
        await writePlanFile(file, plan, key);
        const text = await readFile(file, 'utf8');
        expect(text).toBe(written(plan, key));
        // Laid out as the streamed read expects (else every read would be the whole file's).
        const reader = new IndentedJsonReader();
        reader.push(Buffer.from(text));
        expect(reader.finish()).toEqual(JSON.parse(text));
        // Read as it streams in: the same plan, its members in the same order.
        const back = await readPlanFile(file, { key });
        expect(JSON.stringify(back)).toBe(JSON.stringify(read(text, key)));
      }
      await expect(readPlanFile(file, { key: OTHER_KEY })).rejects.toThrow(
        /changed after poolsync wrote it.*another key/,
      );
      await expect(readPlanFile(file, { key: null })).rejects.toThrow(
        /sealed with a key \(hmac-sha256\) and no key is set/,
      );
    });

    it('writes over a plan file, re-indented too, or an empty file, never over another file', async () => {
      const file = join(dir, 'over.json');
      for (const before of [
        '',
        written(plan),
        JSON.stringify(JSON.parse(written(plan)), null, 4),
      ]) {
        await writeFile(file, before);
        await writePlanFile(file, plan, null);
        expect(await readFile(file, 'utf8')).toBe(written(plan));
      }
      // The embedded control plane's state (it was replaced), or a plan's apply report.
      for (const other of [
        '{"format":"poolsync-control-plane","version":1}',
        '{"format_version":"1","applied_at":""}',
        'notes\n',
      ]) {
        await writeFile(file, other);
        await expect(writePlanFile(file, plan, null)).rejects.toThrow(
          `--out ${file}: the file exists and is not a poolsync plan file, so the plan was not saved over it; choose another --out, or remove the file first`,
        );
        expect(await readFile(file, 'utf8')).toBe(other);
      }
    });

    it('streamed: escaped characters, a re-indented file, any byte changed, a cut or a longer file', async () => {
      const file = join(dir, 'streamed.json');
      // What a terminal obeys is written escaped (\u202e), which the seal's text holds raw.
      const odd = structuredClone(plan);
      odd.warnings[0]!.message = `${odd.warnings[0]!.message} \u202e\u0085`;
      const text = written(odd);
      expect(text).toContain('\\u202e');
      await writeFile(file, text);
      expect(await readPlanFile(file, { key: null })).toEqual(read(text));
      await writeFile(file, JSON.stringify(JSON.parse(text), null, 4));
      expect(await readPlanFile(file, { key: null })).toEqual(read(text));
      // One byte changed anywhere but in the seal (every 331st, a character for another).
      const bytes = Buffer.from(written(plan));
      const sealAt = bytes.lastIndexOf('"seal"');
      for (let at = 0; at < sealAt; at += 331) {
        const copy = Buffer.from(bytes);
        copy[at] = copy[at] === 0x31 ? 0x32 : 0x31;
        await writeFile(file, copy);
        const outcome = await readPlanFile(file, { key: null }).then(
          () => 'read',
          (err: Error) => err.message,
        );
        expect(outcome, `byte ${at}`).toMatch(
          /^\S+streamed\.json (was changed after|is not|is a plan of)/,
        );
      }
      await writeFile(file, bytes.subarray(0, bytes.length - 3));
      await expect(readPlanFile(file, { key: null })).rejects.toThrow(
        /is not a plan: it ends before the JSON does \(truncated\?\)/,
      );
      await writeFile(file, Buffer.concat([bytes, Buffer.from('{}')]));
      await expect(readPlanFile(file, { key: null })).rejects.toThrow(/is not a plan: not JSON/);
    });

    it('name the file in every refusal', async () => {
      const good = join(dir, 'plan.json');
      await writeFile(good, text);
      expect((await readPlanFile(good, { key: null })).steps).toEqual(plan.steps);
      const cut = join(dir, 'cut.json');
      await writeFile(cut, text.slice(0, 40));
      await expect(readPlanFile(cut, { key: null })).rejects.toThrow(
        `${cut} is not a plan: it ends before the JSON does (truncated?); make the plan again with \`poolsync plan --out FILE\``,
      );
      await expect(readPlanFile(join(dir, 'missing.json'), { key: null })).rejects.toThrow(
        /plan file .*missing\.json does not exist/,
      );
    });

    it('read with a byte-order mark before them (an editor saved it so), sealed over what follows it', async () => {
      const file = join(dir, 'bom.json');
      for (const key of [null, KEY]) {
        const sealed = written(plan, key);
        await writeFile(file, `\ufeff${sealed}`);
        expect(await readPlanFile(file, { key })).toEqual(read(sealed, key));
        // Written over by the next plan --out, as the plan file it is.
        await writePlanFile(file, plan, key);
        expect(await readFile(file, 'utf8')).toBe(sealed);
      }
      // The mark is no licence for an edit: what follows it is verified as before.
      await writeFile(file, `\ufeff${text.replace('"create": ', '"create": 1')}`);
      await expect(readPlanFile(file, { key: null })).rejects.toThrow(/was changed|is not/);
    });

    it('refuse a file over the bound, and nesting no plan has, in one line with the bound', async () => {
      const deep = join(dir, 'deep.json');
      // 30 MB of `[` took 11 s and 1.4 GB in JSON.parse: refused by the bytes' depth first.
      await writeFile(deep, Buffer.alloc(30_000_000, '['));
      await expect(readPlanFile(deep, { key: null })).rejects.toThrow(
        `${deep} is not a plan: its JSON nests deeper than ${MAX_PLAN_DEPTH} levels (a plan nests under 10); save a plan with \`poolsync plan --out FILE\``,
      );
      // Brackets inside strings are no nesting; 64 levels of it are read (and refused as no plan).
      await writeFile(
        deep,
        `{"x": "${'['.repeat(100)}\\"${'{'.repeat(100)}", "y": ${'['.repeat(63)}${']'.repeat(63)}}`,
      );
      await expect(readPlanFile(deep, { key: null })).rejects.toThrow(/has no format_version/);
      // A file that is no plan may hold anything: its format_version's type is said, not its value.
      await writeFile(deep, '{"format_version":"S3CR3T-fv-token-77"}');
      await expect(readPlanFile(deep, { key: null })).rejects.toThrow(
        `${deep} has a format_version this poolsync does not read (a string, not "1" nor a newer format number): plan again with this version`,
      );
      const huge = join(dir, 'huge.json');
      await writeFile(huge, '');
      await truncate(huge, MAX_PLAN_BYTES + 1);
      await expect(readPlanFile(huge, { key: null })).rejects.toThrow(
        `${huge} is not a plan: it is ${MAX_PLAN_BYTES + 1} bytes, more than a plan file's bound of ${MAX_PLAN_BYTES} bytes (500 MiB; 100,000 creates are 223 MB); save a plan with \`poolsync plan --out FILE\``,
      );
    });
  });
});
