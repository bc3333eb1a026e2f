/** A repository with environments, written into a temporary folder (test/environments). */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: gpu}
spec:
  object_store_ref: {uri: s3://acme-gpu/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
export const cluster = (name: string) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: gpu}\n`;
export const QUEUE = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: training
spec:
  pool: gpu
  run_concurrency: 10
  action_concurrency: 100
`;

/**
 * dev and prod, both `policy: safe` with `prune: true` over a shared cluster (c-shared), each its
 * own cluster and `file:` state in `state`: what they hold alike has one fingerprint.
 */
export function twoSafeEnvironments(state: string): Record<string, string> {
  const safe = (name: string) =>
    `  ${name}:\n    controlPlane: file:${state}/${name}.json\n    folders: [base, ${name}]\n    policy: safe\n`;
  return {
    'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nenvironments:\n${safe('dev')}${safe('prod')}`,
    'base/pool.yaml': POOL,
    'base/shared.yaml': cluster('c-shared'),
    'dev/cluster.yaml': cluster('c-dev'),
    'prod/cluster.yaml': cluster('c-prod'),
  };
}

/** Two environments over a shared base: dev (cluster c-dev), prod (c-prod, queue limits raised). */
export function twoEnvironments(
  cp: { dev: string; prod: string },
  extra = '',
): Record<string, string> {
  return {
    'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev:
    controlPlane: ${cp.dev}
    folders: [base, dev]
    policy: all
    promotesTo: prod
  prod:
    controlPlane: ${cp.prod}
    folders: [base, prod]
    patches: [prod/patches.yaml]
    policy: safe
${extra}`,
    'base/pool.yaml': POOL,
    'base/queue.yaml': QUEUE,
    'dev/cluster.yaml': cluster('c-dev'),
    'prod/cluster.yaml': cluster('c-prod'),
    'prod/patches.yaml': `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: training
spec:
  run_concurrency: 50
  action_concurrency: 500
`,
  };
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

export interface Heard {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A server that records every request; it advertises its own token endpoint, or redirects. */
export async function catcher(
  answer: (req: IncomingMessage, base: string) => [number, Record<string, string>, string],
): Promise<{ url: string; heard: Heard[]; server: Server }> {
  const heard: Heard[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      heard.push({
        method: req.method!,
        url: req.url!,
        authorization: req.headers.authorization,
        body,
      });
      const [status, headers, text] = answer(req, url);
      res.writeHead(status, headers).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, heard, server };
}

/** Answers as an OAuth2 server would, with itself as the token endpoint. */
export const oauthCatcher = (
  req: IncomingMessage,
  base: string,
): [number, Record<string, string>, string] =>
  req.url!.startsWith('/.well-known/')
    ? [
        200,
        { 'content-type': 'application/json' },
        JSON.stringify({
          issuer: base,
          token_endpoint: `${base}/token`,
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        }),
      ]
    : req.url === '/token'
      ? [
          200,
          { 'content-type': 'application/json' },
          JSON.stringify({ access_token: 'a', token_type: 'Bearer', expires_in: 3600 }),
        ]
      : [200, { 'content-type': 'application/json' }, '{}'];
