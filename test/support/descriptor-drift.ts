/**
 * Field-by-field comparison of two FileDescriptorProtos: poolsync's (src/gen/, from proto/) and a
 * reference (npm @flyteorg/flyteidl2, or the flyteplugins-union wheel). Used by the descriptor
 * tests of test/controlplane/union/.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { base64Decode } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { readFile } from 'node:fs/promises';

/** The FileDescriptorProto a protoc-gen-es `*_pb.ts` embeds (its `fileDesc("…")` argument). */
export async function descriptor(path: string): Promise<FileDescriptorProto> {
  const text = await readFile(path, 'utf8');
  const m = /fileDesc\("([A-Za-z0-9+/=]+)"/.exec(text);
  if (!m) throw new Error(`${path}: no embedded descriptor`);
  return fromBinary(FileDescriptorProtoSchema, base64Decode(m[1]!));
}

/** Every difference of `ours` from `theirs`, as `path: what`. Extra declarations there are fine. */
export function drift(ours: FileDescriptorProto, theirs: FileDescriptorProto): string[] {
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
