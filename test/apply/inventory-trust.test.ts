/**
 * What prune trusts (docs/security.md, "Files poolsync keeps"; issue 48): the inventory of a
 * control plane that cannot keep it (Union, flyteadmin) is never read from the working folder,
 * which in CI is the checkout of the pull request being judged, with or without `.git` (a
 * tarball): by default it lives in the user's state folder, and one found at the old default
 * place is an error, not silence. An inventory recorded for another control plane (copied, or
 * planted) is refused, in a file and in a ConfigMap entry.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inventoryStore, recordInventory } from '../../src/apply/inventory.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { INVENTORY_FORMAT, type InventoryRecord } from '../../src/model/inventory.js';
import type { Plan } from '../../src/model/plan.js';
import { tempFolder } from '../support/temp-folder.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

const union = (org: string) =>
  ({ backend: { name: 'union' }, organization: org }) as unknown as ControlPlane;
const URL = 'union+https://acme.unionai.cloud';
const record = (endpoint: string, addresses: string[]): InventoryRecord => ({
  format: INVENTORY_FORMAT,
  addresses,
  updated_at: '2026-11-24T00:00:00.000Z',
  commit: null,
  control_plane: { backend: 'union', endpoint, organization: 'acme' },
});
const planOf = (addresses: string[]) =>
  ({
    commit: null,
    changes: [],
    steps: [],
    warnings: [],
    inventory: { found: false, declared: addresses, gone: [] },
  }) as unknown as Plan;

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

describe('the inventory of a control plane that cannot keep it', () => {
  it("lives in the user's state folder by default, never in the working folder", async () => {
    const work = tempFolder('poolsync-inv-work-');
    process.chdir(work);
    const store = inventoryStore(union('acme'), URL, { env: process.env });
    expect(store.where.startsWith(join(process.env.XDG_STATE_HOME!, 'poolsync', 'inventory'))).toBe(
      true,
    );
    expect(await recordInventory(store, planOf(['Queue/q']), new Set())).toEqual(['Queue/q']);
    expect(
      (await inventoryStore(union('acme'), URL, { env: process.env }).read())?.addresses,
    ).toEqual(['Queue/q']);
    // `--state-dir .poolsync` spelt out names the default folder: still not the working folder.
    expect(
      inventoryStore(union('acme'), URL, { stateDir: '.poolsync', env: process.env }).where,
    ).toBe(store.where);
    // Under --state-dir when it names another folder.
    const given = tempFolder('poolsync-inv-state-');
    expect(inventoryStore(union('acme'), URL, { stateDir: given, env: process.env }).where).toMatch(
      new RegExp(`^${given}/inventory/[0-9a-f]{64}\\.json$`),
    );
  });

  it('one planted at the old default place (.poolsync/inventory, a checkout without .git) is refused, not used', async () => {
    const checkout = tempFolder('poolsync-inv-tarball-');
    process.chdir(checkout);
    const other = union('someone-else');
    const key = /([0-9a-f]{64})\.json$/.exec(
      inventoryStore(other, URL, { env: process.env }).where,
    )![1]!;
    mkdirSync(join(checkout, '.poolsync', 'inventory'), { recursive: true });
    const planted = join(checkout, '.poolsync', 'inventory', `${key}.json`);
    writeFileSync(
      planted,
      JSON.stringify(record('union+https://acme.unionai.cloud', ['Queue/hand-made'])),
    );
    await expect(inventoryStore(other, URL, { env: process.env }).read()).rejects.toThrow(
      `found an inventory at ${planted}, where poolsync kept it before: it is no longer read from the working folder, which in CI is the checkout of the pull request being judged`,
    );
  });

  it('one recorded for another control plane is refused, naming both; nothing is planned from it', async () => {
    const state = tempFolder('poolsync-inv-copied-');
    const store = inventoryStore(union('acme'), URL, { stateDir: state, env: process.env });
    mkdirSync(join(state, 'inventory'));
    writeFileSync(
      store.where,
      JSON.stringify(record('union+https://other.unionai.cloud', ['Queue/theirs'])),
    );
    await expect(store.read()).rejects.toThrow(
      `the inventory in ${store.where} names union union+https://other.unionai.cloud (organisation acme), not union union+https://acme.unionai.cloud (organisation acme): poolsync uses an inventory only for the control plane it was recorded for`,
    );
    // Another spelling of this control plane is this control plane.
    writeFileSync(
      store.where,
      JSON.stringify(record('UNION+https://ACME.unionai.cloud:443/', ['Queue/mine'])),
    );
    expect((await store.read())?.addresses).toEqual(['Queue/mine']);
  });
});

describe('the inventory in a ConfigMap entry', () => {
  let kube: FakeKubeApi;
  let kc: KubeConfig;
  beforeAll(async () => {
    kube = await startFakeKubeApi();
    kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
  });
  afterAll(() => kube.close());

  it('recorded for another control plane is refused', async () => {
    const shared = {
      place: { namespace: 'poolsync', name: 'poolsync-inventory' },
      kubeConfig: kc,
    };
    const state = tempFolder('poolsync-inv-cm-');
    const acme = inventoryStore(union('acme'), URL, {
      stateDir: state,
      shared: shared,
      env: process.env,
    });
    await recordInventory(acme, planOf(['Queue/q']), new Set());
    const key = Object.keys(kube.configMaps.get('poolsync/poolsync-inventory')!.data!)[0]!;
    const cm = kube.configMaps.get('poolsync/poolsync-inventory')!;
    cm.data![key] = JSON.stringify(record('union+https://other.unionai.cloud', ['Queue/theirs']));
    await expect(
      inventoryStore(union('acme'), URL, {
        stateDir: state,
        shared: shared,
        env: process.env,
      }).read(),
    ).rejects.toThrow(
      /^the inventory in ConfigMap poolsync\/poolsync-inventory names union union\+https:\/\/other\.unionai\.cloud/,
    );
  });
});
