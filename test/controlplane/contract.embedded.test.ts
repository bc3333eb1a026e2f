import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { DEFAULT_POOL_CONTRACT } from '../../src/controlplane/embedded/state.js';
import { contractSuite } from './contract.js';

contractSuite('embedded, in memory', async () => {
  const cp = await EmbeddedControlPlane.open({ path: null });
  return { cp, sim: cp, defaultContract: DEFAULT_POOL_CONTRACT, close: () => cp.close() };
});
