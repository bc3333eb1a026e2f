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
import { fromBinary } from '@bufbuild/protobuf';
import { base64Decode } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const PUBLISHED = join(root, 'node_modules', '@flyteorg', 'flyteidl2');
const FILES = [
  'flyteidl2/common/list',
  'flyteidl2/project/project_service',
  'flyteidl2/settings/settings_definition',
  'flyteidl2/settings/settings_service',
];

async function descriptor(path: string): Promise<FileDescriptorProto> {
  const text = await readFile(path, 'utf8');
  const m = /fileDesc\("([A-Za-z0-9+/=]+)"/.exec(text);
  if (!m) throw new Error(`${path}: no embedded descriptor`);
  return fromBinary(FileDescriptorProtoSchema, base64Decode(m[1]!));
}

/** Every difference of `ours` from `theirs`, as `path: what`. Extra declarations there are fine. */
function drift(ours: FileDescriptorProto, theirs: FileDescriptorProto): string[] {
  const out: string[] = [];
  if (ours.package !== theirs.package) out.push(`package ${ours.package} ≠ ${theirs.package}`);
  const enums = (prefix: string, a: EnumDescriptorProto[], b: EnumDescriptorProto[]) => {
    for (const e of a) {
      const other = b.find((x) => x.name === e.name);
      if (!other) {
        out.push(`${prefix}${e.name}: enum missing upstream`);
        continue;
      }
      for (const v of e.value) {
        const w = other.value.find((x) => x.name === v.name);
        if (!w) out.push(`${prefix}${e.name}.${v.name}: value missing upstream`);
        else if (w.number !== v.number)
          out.push(`${prefix}${e.name}.${v.name}: ${v.number} ≠ ${w.number}`);
      }
    }
  };
  const messages = (prefix: string, a: DescriptorProto[], b: DescriptorProto[]) => {
    for (const msg of a) {
      const other = b.find((x) => x.name === msg.name);
      const at = `${prefix}${msg.name}`;
      if (!other) {
        out.push(`${at}: message missing upstream`);
        continue;
      }
      for (const f of msg.field) {
        const g = other.field.find((x) => x.number === f.number);
        if (!g) {
          out.push(`${at}.${f.name} = ${f.number}: no such field number upstream`);
          continue;
        }
        for (const k of ['name', 'type', 'label', 'typeName', 'oneofIndex'] as const) {
          if (f[k] !== g[k])
            out.push(`${at}.${f.name} = ${f.number}: ${k} ${String(f[k])} ≠ ${String(g[k])}`);
        }
      }
      for (const o of msg.oneofDecl) {
        if (!other.oneofDecl.some((x) => x.name === o.name))
          out.push(`${at}: oneof ${o.name} missing upstream`);
      }
      enums(`${at}.`, msg.enumType, other.enumType);
      messages(`${at}.`, msg.nestedType, other.nestedType);
    }
  };
  enums('', ours.enumType, theirs.enumType);
  messages('', ours.messageType, theirs.messageType);
  for (const s of ours.service) {
    const other = theirs.service.find((x) => x.name === s.name);
    if (!other) {
      out.push(`service ${s.name}: missing upstream`);
      continue;
    }
    for (const m of s.method) {
      const n = other.method.find((x) => x.name === m.name);
      if (!n) out.push(`${s.name}/${m.name}: missing upstream`);
      else
        for (const k of ['inputType', 'outputType', 'clientStreaming', 'serverStreaming'] as const)
          if (m[k] !== n[k])
            out.push(`${s.name}/${m.name}: ${k} ${String(m[k])} ≠ ${String(n[k])}`);
    }
  }
  return out;
}

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
