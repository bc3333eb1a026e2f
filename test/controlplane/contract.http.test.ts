import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import type { PoolContract } from '../../src/model/common.js';
import { contractSuite } from './contract.js';
import { simOverHttp } from './sim-http.js';
import { poolContract } from '../support/builders.js';

const DEFAULT_CONTRACT: PoolContract = poolContract('abfs://default@acct.dfs.core.windows.net', {
  secret_store: { type: 'AZURE_KEY_VAULT', locator: 'https://kv.vault.azure.net' },
  image_registry: { locator: 'acct.azurecr.io/union' },
});

// The HTTP client against a real server on 127.0.0.1, over a persisted embedded control plane.
contractSuite('HTTP client → server on 127.0.0.1 (persisted, token auth)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-cp-http-'));
  const embedded = await EmbeddedControlPlane.open({
    path: join(dir, 'cp.json'),
    defaultPoolContract: DEFAULT_CONTRACT,
  });
  const token = 'contract-suite-token';
  const server = await startControlPlaneServer({ controlPlane: embedded, token, simulate: true });
  // A small page size so every list in the suite goes through pagination.
  const cp = new HttpControlPlane(server.url, { token, pageSize: 2 });
  return {
    cp,
    sim: simOverHttp(server.url, token),
    defaultContract: DEFAULT_CONTRACT,
    close: async () => {
      await cp.close();
      await server.close();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
