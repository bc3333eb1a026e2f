/**
 * `poolsync control-plane serve --oauth-client-file F` as a user runs it (child process):
 * the REST API and Union's API (Connect and gRPC) on one port, behind the local OAuth2 server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openControlPlane } from '../../../src/controlplane/open.js';
import type { UnionControlPlane } from '../../../src/controlplane/union/union.js';
import { runCli, startCli, type CliRun } from '../../support/cli.js';

let serve: CliRun | undefined;
let dir: string | undefined;
afterEach(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.done;
  serve = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('control-plane serve --oauth-client-file', () => {
  it('serves REST, Connect and gRPC on one port; a bad client file is a clear error', async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolsync-serve-union-'));
    const client = join(dir, 'client.yaml');
    await writeFile(client, 'client_id: ci\nclient_secret: hunter2-secret\norg: acme\n');
    serve = startCli([
      'control-plane',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--state',
      join(dir, 'cp.json'),
      '--oauth-client-file',
      client,
    ]);
    await serve.waitForOutput((s) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(s));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stdout())![1]!;
    const host = new URL(url).host;

    const rest = await fetch(`${url}/v1/queues`);
    expect(rest.status).toBe(200);
    process.env.POOLSYNC_UNION_API_KEY = Buffer.from(`${host}:ci:hunter2-secret:acme`).toString(
      'base64',
    );
    try {
      for (const suffix of ['', '?protocol=grpc']) {
        const cp = (await openControlPlane(`union+${url}${suffix}`, {
          env: process.env,
        })) as UnionControlPlane;
        expect((await cp.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
        await cp.close();
      }
    } finally {
      delete process.env.POOLSYNC_UNION_API_KEY;
    }
    expect(serve.stdout() + serve.stderr()).not.toContain('hunter2-secret');

    // A client file it cannot serve with: refused before it listens.
    const other = join(dir, 'other.json');
    const refused = (text: string) =>
      writeFile(client, text).then(() =>
        runCli([
          'control-plane',
          'serve',
          '--listen',
          '127.0.0.1:0',
          '--state',
          other,
          '--oauth-client-file',
          client,
        ]),
      );
    const bad = await refused('client_id: ci\norg: acme\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${client}: "client_secret" must be a non-empty string`);
    // Not YAML: where, in one line; never the file's text (its secret).
    const broken = await refused('client_id: c\nclient_secret: "s3cr3t-value\n');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(`^Error: --oauth-client-file ${client}:\\d+:\\d+: not valid YAML: [^\\n]+\\n$`),
    );
    expect(broken.stderr).not.toContain('s3cr3t');
  }, 180_000);
});
