/**
 * A setting beside run.default_queue in a Union settings level, as Union's own client writes
 * it: `security.service_account` (flyteidl2 settings_definition.proto: Settings.security = 2,
 * SecuritySettings.service_account = 1, a StringSetting). poolsync's .proto declares only `run`,
 * so the field travels as an unknown field; these read and write it by its wire form.
 */
import type { UnknownField } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Settings } from '../../src/gen/flyteidl2/settings/settings_definition_pb.js';

const SECURITY = 2;

/** `settings` with security.service_account set to `account` (SETTING_STATE_VALUE). */
export function withServiceAccount<T extends Settings>(settings: T, account: string): T {
  const value = new BinaryWriter().uint32(8).int32(2).uint32(18).string(account).finish();
  const security = new BinaryWriter().uint32(10).bytes(value).finish();
  const field: UnknownField = {
    no: SECURITY,
    wireType: WireType.LengthDelimited,
    data: new BinaryWriter().bytes(security).finish(),
  };
  settings.$unknown = [...(settings.$unknown ?? []).filter((f) => f.no !== SECURITY), field];
  return settings;
}

/** The service account a level sets, or null. */
export function serviceAccountOf(settings: Settings | undefined): string | null {
  const field = settings?.$unknown?.find((f) => f.no === SECURITY);
  if (!field) return null;
  const security = new BinaryReader(new BinaryReader(field.data).bytes());
  while (security.pos < security.len) {
    const [no, type] = security.tag();
    if (no !== 1) {
      security.skip(type);
      continue;
    }
    const value = new BinaryReader(security.bytes());
    while (value.pos < value.len) {
      const [n, t] = value.tag();
      if (n === 2) return value.string();
      value.skip(t);
    }
  }
  return null;
}
