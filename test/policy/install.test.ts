/**
 * One OPA everywhere (docs/policies.md): the version and module hash scripts/install-opa.sh
 * pins are the Docker image's build arguments and the version poolsync looks for in the cache;
 * CI installs it beside the other peers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPA_VERSION } from '../../src/policy/opa.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('the pinned OPA', () => {
  it('is the same in scripts/install-opa.sh, the Dockerfile and src/policy/opa.ts; .ci/run installs it', () => {
    const script = read('scripts/install-opa.sh');
    const version = /^OPA=(v\d+\.\d+\.\d+)$/m.exec(script)?.[1];
    const sum = /^OPA_SUM="(h1:[A-Za-z0-9+/=]+)"$/m.exec(script)?.[1];
    expect(version).toBe(OPA_VERSION);
    expect(sum).toBeDefined();
    const docker = read('Dockerfile');
    expect(docker).toContain(`ARG OPA_VERSION=${version}`);
    expect(docker).toContain(`ARG OPA_SUM=${sum}`);
    // The runtime stage carries the binary on the PATH.
    expect(docker).toMatch(/^COPY --from=opa \/out\/opa \/usr\/local\/bin\/opa$/m);
    expect(read('.ci/run')).toMatch(/^\.\/scripts\/install-opa\.sh\b/m);
  });
});
