/**
 * A path in the flyteadmin URL (`flyteadmin+http://HOST:PORT/foo`): flyteadmin answers its
 * gateway's NotFound for `/foo/api/v1/…`, a path it does not route, whatever the credentials
 * (grpc-gateway's mux serves "/", pkg/server/service.go). The error names the URL requested and
 * the path to check; the stand-in answers as flyteadmin does, `control-plane serve --token-file`
 * included (it answered UNAUTHENTICATED to the right credentials).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { cleanup } from '../support/cleanup.js';
import { servedByCli } from '../support/cli.js';
import { flyteadminTargets } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

/** What a plan against `url` (a flyteadmin URL with the path /foo) fails with. */
async function readError(url: string, env: NodeJS.ProcessEnv): Promise<ControlPlaneError> {
  const cp = await openControlPlane(url, { env });
  try {
    const err = await readLiveState(cp).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ControlPlaneError);
    return err as ControlPlaneError;
  } finally {
    await cp.close();
  }
}

function expectPathSaid(err: ControlPlaneError, httpUrl: string): void {
  expect(err.code).toBe('NOT_FOUND');
  expect(err.message).toMatch(
    new RegExp(
      `^flyteadmin GET /api/v1/\\S+: Not Found \\(HTTP 404 for ${httpUrl}/foo/api/v1/\\S+: nothing serves that path\\); the path /foo of --control-plane \\(env POOLSYNC_CONTROL_PLANE\\) may be wrong: flyteadmin serves its API \\(/api/v1/…\\) at the root of its HTTP port, flyteadmin\\+${httpUrl}, `,
    ),
  );
}

describe.each(targets.list)('flyteadmin $name: a path in its URL', (target) => {
  it("is answered flyteadmin's NotFound, and the error names the URL and the path", async ({
    skip,
  }) => {
    if (target.missing) skip(target.missing);
    const fa = await target.start();
    try {
      const raw = await fa.call('GET', '/foo/api/v1/domains');
      expect([raw.status, raw.json['code'], raw.json['message']]).toEqual([404, 5, 'Not Found']);
      expectPathSaid(await readError(`${fa.url}/foo`, process.env), fa.httpUrl);
    } finally {
      await fa.close();
    }
  });
});

it('the stand-in of `control-plane serve --token-file` answers so to the right credentials', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-serve-path-'));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'serve-secret-5678\n');
  const { url } = await servedByCli(['--token-file', tokenFile, '--state', join(dir, 'cp.json')]);
  const env = {
    POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
    POOLSYNC_FLYTE_CLIENT_SECRET_FILE: tokenFile,
  };
  expectPathSaid(await readError(`flyteadmin+${url}/foo`, env), url);
});
