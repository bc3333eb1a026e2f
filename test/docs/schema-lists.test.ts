/**
 * The lists of manifests.md that schemas/ and the rules decide, held to them: a hand test found
 * Editor support naming 5 of the 9 schemas, the envelope's kinds without DefaultQueue, and
 * "(V1–V8)" beside a table that goes to V16.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MANIFEST_KINDS } from '../../src/manifests/schema.js';
import { CAPABILITY_NAMES } from '../../src/model/capabilities.js';
import { ROOT } from './run-doc.js';

const read = (page: string): string => readFileSync(join(ROOT, page), 'utf8');
const MANIFESTS = read('docs/manifests.md');

/** Every schema of a kind (`kind: {const}`): kind, file, $id. */
const KIND_SCHEMAS = readdirSync(join(ROOT, 'schemas'))
  .filter((f) => f.endsWith('.schema.json'))
  .map((file) => {
    const s = JSON.parse(read(`schemas/${file}`)) as {
      $id: string;
      properties?: { kind?: { const?: string } };
    };
    return { kind: s.properties?.kind?.const, file, id: s.$id };
  })
  .filter((s) => s.kind !== undefined);

it("Editor support's table lists every kind's schema, with its file and $id", () => {
  const section = MANIFESTS.split('## Editor support')[1]!.split('\n## ')[0]!;
  const rows = [...section.matchAll(/^\| (\w+) \| `([^`]+)` \| `([^`]+)` \|$/gm)].map(
    ([, kind, file, id]) => ({ kind, file, id }),
  );
  const byKind = (a: { kind?: string }, b: { kind?: string }) => a.kind!.localeCompare(b.kind!);
  expect(rows.sort(byKind)).toEqual(KIND_SCHEMAS.sort(byKind));
});

it("the envelope's kind comment lists every manifest kind", () => {
  const comment = /^kind: \w+ +# (.+)$/m.exec(MANIFESTS.split('## Envelope')[1]!)?.[1];
  expect(comment?.split(' | ')).toEqual([...MANIFEST_KINDS]);
});

it('every "V1–Vn" range of the pages and the code ends at the last rule of Error codes', () => {
  const codes = [...MANIFESTS.matchAll(/^\| `V(\d+)` \|/gm)].map((m) => Number(m[1]));
  const last = Math.max(...codes);
  expect(codes).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.startsWith('gen'))
      .map((f) => `src/${f}`),
  ];
  const wrong = files.flatMap((file) =>
    [...read(file).matchAll(/\bV1[–-]V(\d+)\b/g)]
      .filter((m) => Number(m[1]) !== last)
      .map((m) => `${file}: ${m[0]}`),
  );
  expect(wrong).toEqual([]);
});

it("README's capabilities row and control-plane serve's synopsis list every capability", () => {
  const row = /^\| `poolsync control-plane capabilities [^|]*\| [^|(]*\(([^)]+)\)/m.exec(
    read('README.md'),
  )?.[1];
  expect(row?.split(', ')).toEqual([...CAPABILITY_NAMES]);
  const synopsis = /\[--capabilities ([^\]]+)\]/.exec(read('docs/control-plane.md'))?.[1];
  expect(synopsis?.replace(/\s+/g, '').split(',')).toEqual([...CAPABILITY_NAMES]);
});
