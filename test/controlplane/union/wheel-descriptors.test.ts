/**
 * proto/ reproduces the definitions of the Union services poolsync calls; the reference is what
 * Union ships: the serialized descriptors vendored in its own client, the PyPI wheel
 * flyteplugins-union (and flyteidl2, installed with flyte), pinned in
 * scripts/union-venv-constraints.txt and installed by scripts/install-union-venv.sh. Every
 * message, field (number, name, type, label, type name), enum value and RPC poolsync declares
 * must be there, the same; poolsync may declare less (what it leaves out travels as unknown
 * fields and is written back). Skipped, saying why, without the venv.
 */
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { base64Decode } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { beforeAll, describe, expect, it } from 'vitest';
import { descriptor, drift } from '../../support/descriptor-drift.js';
import { findUnionVenv, python } from '../../support/union-venv.js';

const root = join(import.meta.dirname, '..', '..', '..');
const U = 'flyteplugins.union.internal';
/** poolsync's file (proto/…) → the Python module of the wheel that carries its descriptor. */
const FILES: Record<string, string> = {
  'cloudidl/queue/queue': `${U}.queue.queue_pb2`,
  'cloudidl/cluster/cluster': `${U}.cluster.cluster_pb2`,
  'cloudidl/cluster/payload': `${U}.cluster.payload_pb2`,
  'cloudidl/cluster/definition': `${U}.cluster.definition_pb2`,
  'cloudidl/cluster/accelerator_definition': `${U}.cluster.accelerator_definition_pb2`,
  'cloudidl/clusterpool/clusterpool': `${U}.clusterpool.clusterpool_pb2`,
  'cloudidl/clusterpool/payload': `${U}.clusterpool.payload_pb2`,
  'cloudidl/common/identifier': `${U}.common.identifier_pb2`,
  'cloudidl/common/list': `${U}.common.list_pb2`,
  'cloudidl/common/cluster': `${U}.common.cluster_pb2`,
  'flyteidl2/common/list': 'flyteidl2.common.list_pb2',
  'flyteidl2/core/tasks': 'flyteidl2.core.tasks_pb2',
  'flyteidl2/settings/settings_definition': 'flyteidl2.settings.settings_definition_pb2',
  'flyteidl2/settings/settings_service': 'flyteidl2.settings.settings_service_pb2',
  'flyteidl2/project/project_service': 'flyteidl2.project.project_service_pb2',
};

/** Prints, per module, its package versions and its FileDescriptorProto, base64. */
const DUMP = `
import base64, importlib, json, sys
from importlib.metadata import version
from google.protobuf import descriptor_pb2
out = {"versions": {p: version(p) for p in ("flyte", "flyteplugins-union", "flyteidl2")}, "files": {}}
for mod in sys.argv[1:]:
    fd = descriptor_pb2.FileDescriptorProto()
    importlib.import_module(mod).DESCRIPTOR.CopyToProto(fd)
    out["files"][mod] = base64.b64encode(fd.SerializeToString()).decode()
print(json.dumps(out))
`;

const venv = findUnionVenv();
if (typeof venv === 'string') console.warn(`wheel-descriptors.test.ts ${venv}`);

describe.skipIf(typeof venv === 'string')(
  "proto/ against the descriptors in Union's client",
  () => {
    let theirs: Map<string, FileDescriptorProto>;
    let versions: Record<string, string>;
    beforeAll(async () => {
      if (typeof venv === 'string') return;
      const got = JSON.parse(await python(venv, DUMP, Object.values(FILES))) as {
        versions: Record<string, string>;
        files: Record<string, string>;
      };
      versions = got.versions;
      theirs = new Map(
        Object.entries(got.files).map(([m, b64]) => [
          m,
          fromBinary(FileDescriptorProtoSchema, base64Decode(b64)),
        ]),
      );
    });

    it('the installed packages are the pinned ones proto/ cites', () => {
      expect(versions).toEqual({
        flyte: '2.12.1',
        'flyteplugins-union': '0.19.1',
        flyteidl2: '2.0.51',
      });
    });

    it.each(Object.keys(FILES))('%s.proto: every declaration matches the wheel', async (file) => {
      const ours = await descriptor(join(root, 'src', 'gen', `${file}_pb.ts`));
      const wheel = theirs.get(FILES[file]!)!;
      // The wheel names its files without the package folder (queue/queue.proto).
      expect(`${file}.proto`.endsWith(wheel.name)).toBe(true);
      expect(ours.messageType.length + ours.enumType.length + ours.service.length).toBeGreaterThan(
        0,
      );
      expect(drift(ours, wheel)).toEqual([]);
    });

    it('the comparison catches the old Cluster.pools = 3 (the wheel has pool = 5)', async () => {
      const ours = await descriptor(join(root, 'src/gen/cloudidl/cluster/definition_pb.ts'));
      const cluster = ours.messageType.find((m) => m.name === 'Cluster')!;
      const pool = cluster.field.find((f) => f.name === 'pool')!;
      pool.number = 3;
      pool.name = 'pools';
      expect(drift(ours, theirs.get(FILES['cloudidl/cluster/definition']!)!).join('\n')).toMatch(
        /Cluster\.pools = 3: no such field number upstream/,
      );
    });
  },
);
