/**
 * proto/flyteidl2/ reproduces part of Union's flyteidl2 (settings, project, common); the
 * descriptors published in npm @flyteorg/flyteidl2 (a dev dependency) are the reference. Every
 * message, field (number, name, type, label, type name), enum value and RPC poolsync declares
 * must be there, the same; poolsync may declare less (fields it does not declare travel as
 * unknown fields and are written back). A drift of proto/ or of the package fails here.
 *
 * The package ships TypeScript sources (*_pb.ts) whose `fileDesc("…")` argument is the
 * embedded FileDescriptorProto; both sides are read the same way, from that text.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { descriptor, drift } from '../../support/descriptor-drift.js';

const root = join(import.meta.dirname, '..', '..', '..');
const PUBLISHED = join(root, 'node_modules', '@flyteorg', 'flyteidl2');
// flyteidl2/common/list is newer in Union's client than in npm 2.0.16 (EXISTS, NOT_EXISTS):
// wheel-descriptors.test.ts compares it with the wheel's.
const FILES = [
  'flyteidl2/project/project_service',
  'flyteidl2/settings/settings_definition',
  'flyteidl2/settings/settings_service',
];

describe('proto/flyteidl2 against npm @flyteorg/flyteidl2', () => {
  it('the published package is the version proto/ cites (2.0.16)', async () => {
    const pkg = JSON.parse(await readFile(join(PUBLISHED, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(pkg.version).toBe('2.0.16');
  });

  it.each(FILES)('%s.proto: every declaration matches upstream', async (file) => {
    const ours = await descriptor(join(root, 'src', 'gen', `${file}_pb.ts`));
    const theirs = await descriptor(join(PUBLISHED, `${file}_pb.ts`));
    expect(ours.name).toBe(theirs.name);
    expect(ours.messageType.length + ours.enumType.length).toBeGreaterThan(0);
    expect(drift(ours, theirs)).toEqual([]);
  });

  it('the comparison catches a renumbered field, a renamed enum value and a missing RPC', async () => {
    const theirs = await descriptor(join(PUBLISHED, 'flyteidl2/settings/settings_service_pb.ts'));
    const ours = await descriptor(join(root, 'src/gen/flyteidl2/settings/settings_service_pb.ts'));
    const field = ours.messageType[0]!.field[0]!;
    field.number += 100;
    ours.service[0]!.method.push({ ...ours.service[0]!.method[0]!, name: 'NoSuchRpc' });
    const defs = await descriptor(
      join(root, 'src/gen/flyteidl2/settings/settings_definition_pb.ts'),
    );
    const upstreamDefs = await descriptor(
      join(PUBLISHED, 'flyteidl2/settings/settings_definition_pb.ts'),
    );
    const e = defs.enumType[0]!;
    e.value[0]!.number += 7;
    expect(drift(ours, theirs).join('\n')).toMatch(/no such field number upstream/);
    expect(drift(ours, theirs).join('\n')).toMatch(/NoSuchRpc: missing upstream/);
    expect(drift(defs, upstreamDefs).join('\n')).toContain(`${e.name}.${e.value[0]!.name}`);
  });
});
