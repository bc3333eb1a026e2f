/**
 * The inventory in a Kubernetes ConfigMap (`--inventory k8s:NAMESPACE/NAME`, by default
 * `poolsync-inventory` beside the `--lock` Lease): where every daemon replica and every CI job
 * finds what poolsync applied to a control plane that cannot keep it (Union, flyteadmin).
 * Through @kubernetes/client-node, as the Lease of k8s-lease.ts.
 *
 * One data key per control plane (`<sha256 of backend, endpoint, organisation>.json`, the name
 * of the state-folder file), so environments and control planes share one ConfigMap; every
 * other key, label and annotation is kept. Writes are read-modify-write: a PUT carrying the
 * resourceVersion read; on 409 Conflict the ConfigMap is read again and the change merged into
 * what is there now (what this writer added and removed since its read, applied to the
 * current entry), then written again. A ConfigMap over the API server's 1 MiB is refused before
 * it is sent, naming it; an entry that is not an inventory is an error naming the ConfigMap and
 * its key, and is never overwritten.
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { parseInventory, type InventoryRecord } from '../model/inventory.js';
import { backoffDelay } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import { UserError } from '../util/user-error.js';
import { statusOf, type LeaseRef } from './k8s-lease.js';

/** The API server's limit on a ConfigMap's data and binaryData values (1 MiB; keys are not counted). */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/** Writes attempted before a run of conflicts is an error. */
const ATTEMPTS = 10;

/** `namespace/name`, as a Lease is named. */
export type ConfigMapRef = LeaseRef;

/**
 * The bytes the API server counts for a ConfigMap's size: the values of data, and of binaryData
 * decoded (pkg/apis/core/validation ValidateConfigMap; the keys are not counted).
 */
export function configMapBytes(cm: Pick<V1ConfigMap, 'data' | 'binaryData'>): number {
  let n = 0;
  for (const v of Object.values(cm.data ?? {})) n += Buffer.byteLength(v);
  for (const v of Object.values(cm.binaryData ?? {})) n += Buffer.from(v, 'base64').length;
  return n;
}

/**
 * A three-way merge of address sets: what this writer changed since it read `base` (null:
 * there was no entry; undefined: it never read), applied to `theirs`, the entry now (null:
 * none).
 */
export function mergeAddresses(
  base: readonly string[] | null | undefined,
  ours: readonly string[],
  theirs: readonly string[] | null,
): string[] {
  // Never read, or the entry went away since (removed by hand): this writer's whole truth.
  if (base === undefined || (theirs === null && base !== null)) return [...ours];
  const before = new Set(base ?? []);
  const mine = new Set(ours);
  const out = new Set(theirs ?? []);
  for (const a of ours) if (!before.has(a)) out.add(a);
  for (const a of before) if (!mine.has(a)) out.delete(a);
  return [...out].sort();
}

export class ConfigMapInventory {
  private readonly api: CoreV1Api;
  /** This control plane's entry as last read (null: none); undefined until read. */
  private base: string[] | null | undefined = undefined;
  /** The ConfigMap as last read or written (null: none); undefined until read. */
  private seen: V1ConfigMap | null | undefined = undefined;
  /** Writes refused with 409 Conflict and retried (for tests and logs). */
  conflicts = 0;

  constructor(
    kc: KubeConfig,
    readonly ref: ConfigMapRef,
    /** The data key of this control plane's entry. */
    readonly key: string,
    /**
     * Read when the ConfigMap has no entry for this control plane yet: the inventory kept in
     * the state folder before the ConfigMap was configured, moved there by the next write.
     */
    private readonly before: () => Promise<InventoryRecord | null> = () => Promise.resolve(null),
    /** The waits between writes that lost to another writer. */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  get where(): string {
    return `ConfigMap ${this.ref.namespace}/${this.ref.name}`;
  }

  async readInventory(): Promise<InventoryRecord | null> {
    const cm = await this.get();
    const entry = this.entry(cm);
    this.seen = cm;
    this.base = entry?.addresses ?? null;
    return entry ?? (await this.before());
  }

  async writeInventory(record: InventoryRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // First from the ConfigMap as read (its resourceVersion: a write since is a 409), then
      // from the ConfigMap as it is now.
      const cm = attempt === 1 && this.seen !== undefined ? this.seen : await this.get();
      const theirs = this.entry(cm)?.addresses ?? null;
      const addresses = mergeAddresses(this.base, record.addresses, theirs);
      const data = { ...(cm?.data ?? {}), [this.key]: JSON.stringify({ ...record, addresses }) };
      this.checkSize({ data, binaryData: cm?.binaryData ?? {} }, addresses.length);
      try {
        this.seen =
          cm === null
            ? await this.create(data)
            : await this.api.replaceNamespacedConfigMap({ ...this.ref, body: { ...cm, data } });
        this.base = addresses;
        return;
      } catch (err) {
        // 409: changed since read (PUT), or created meanwhile (POST); 404: deleted since read
        // (a ConfigMap is not created by a PUT): read it again, merge, write or create.
        const lost = statusOf(err) === 409 || (statusOf(err) === 404 && cm !== null);
        if (!lost || attempt >= ATTEMPTS) throw this.failure(err, 'writing');
        this.conflicts++;
        await this.clock.sleep(backoffDelay(attempt, 20, 1000));
      }
    }
  }

  private async create(data: Record<string, string>): Promise<V1ConfigMap> {
    return await this.api.createNamespacedConfigMap({
      namespace: this.ref.namespace,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          ...this.ref,
          labels: { 'app.kubernetes.io/managed-by': 'poolsync' },
          annotations: {
            'poolsync.dev/what':
              'the inventory of what poolsync applied, one key per control plane (docs/plan.md, Prune by inventory)',
          },
        },
        data,
      },
    });
  }

  /** The ConfigMap, or null when there is none. */
  private async get(): Promise<V1ConfigMap | null> {
    try {
      return await this.api.readNamespacedConfigMap(this.ref);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.failure(err, 'reading');
    }
  }

  /** This control plane's entry; an entry that is not an inventory is an error, never "none". */
  private entry(cm: V1ConfigMap | null): InventoryRecord | null {
    const text = cm?.data?.[this.key];
    if (text === undefined) return null;
    let parsed: InventoryRecord | string;
    try {
      parsed = parseInventory(JSON.parse(text));
    } catch {
      parsed = 'not JSON'; // never the parser's message: it quotes the text
    }
    if (typeof parsed === 'string') {
      const { namespace, name } = this.ref;
      throw new UserError(
        `${this.where}, key ${this.key}, is not a poolsync inventory: ${parsed}. Nothing was written. ` +
          `Restore it (kubectl -n ${namespace} edit configmap ${name}), or remove that key: prune then falls ` +
          'back to the kinds rule until the next apply records the inventory again (docs/plan.md, Prune by inventory)',
      );
    }
    return parsed;
  }

  private checkSize(cm: Pick<V1ConfigMap, 'data' | 'binaryData'>, count: number): void {
    const bytes = configMapBytes(cm);
    if (bytes <= CONFIGMAP_MAX_BYTES) return;
    const own = Buffer.byteLength(cm.data?.[this.key] ?? '');
    throw new UserError(
      `the inventory (${count} objects, ${own} bytes) does not fit in ${this.where}: a ConfigMap holds at most ` +
        `${CONFIGMAP_MAX_BYTES} bytes of values and it would hold ${bytes}. Nothing was written (the objects are applied; ` +
        'prune keeps the inventory as it was). Give this control plane a ConfigMap of its own ' +
        '(--inventory k8s:NAMESPACE/NAME, env POOLSYNC_INVENTORY), or remove the entries of control planes ' +
        'poolsync no longer manages from it',
    );
  }

  private failure(err: unknown, doing: string): Error {
    if (err instanceof UserError) return err;
    const status = statusOf(err);
    const what = `${doing} the inventory (${this.where})`;
    if (status === 403) {
      return new UserError(
        `${what}: forbidden (403): the service account needs get, create and update on configmaps in namespace ${this.ref.namespace} (see examples/deploy/rbac.yaml)`,
      );
    }
    if (status === 409) {
      return new Error(`${what}: still changed by another writer after ${ATTEMPTS} attempts`);
    }
    if (status !== null) return new Error(`${what}: the Kubernetes API answered HTTP ${status}`);
    return new Error(`${what}: ${(err as Error).message ?? String(err)}`);
  }
}
