/**
 * The real Kubernetes API server for the tests of poolsync's Lease, leader election and
 * inventory ConfigMap: kube-apiserver and etcd as scripts/kube-go.sh builds them from their Go
 * modules (cached outside the repository), started on 127.0.0.1 for one test file with RBAC on,
 * examples/deploy/rbac.yaml applied in namespace `poolsync`, and a kubeconfig for its
 * ServiceAccount (a token from the TokenRequest API): poolsync runs as a deployment runs it. The
 * tests skip, saying why once (global-setup.ts), when the binaries are not there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as requestHttp } from 'node:http';
import { request } from 'node:https';
import { freePort } from '../../support/free-port.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { tempFolder } from '../../support/temp-folder.js';
import { until } from '../../support/until.js';
import { stopsWithThisProcess } from '../../support/stops-with-this-process.js';
import { NAMESPACE, writeKubeconfig } from '../../support/fake-kube-api.js';

export const KUBE_APISERVER = 'kube-apiserver-v1.37.2';
export const ETCD = 'etcd-v3.7.3';

/** The cache folder (scripts/kube-go.sh --dir). */
export function kubeCache(): string {
  return (
    process.env.POOLSYNC_KUBE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'poolsync', 'kube')
  );
}

const binary = (target: string, name: string) => join(kubeCache(), target, 'bin', name);

/** Why the tests against the real kube-apiserver skip, or null when they run. */
export const kubeMissing: string | null =
  existsSync(binary(KUBE_APISERVER, 'kube-apiserver')) && existsSync(binary(ETCD, 'etcd'))
    ? null
    : `no ${KUBE_APISERVER} and ${ETCD} in ${kubeCache()}: run scripts/kube-go.sh (needs Go >= 1.26; .ci/run does it)`;

export interface Answer {
  status: number;
  body: unknown;
}

/** A Kubernetes API server the tests talk to: the stand-in or the real one. */
export interface KubeServer {
  name: 'stand-in' | 'kube-apiserver';
  url: string;
  /** The ServiceAccount's kubeconfig and token (what poolsync runs with). */
  kubeconfig: string;
  token: string;
  /** A request as the ServiceAccount, an administrator (the tests' own setup) or nobody. */
  call(
    as: 'sa' | 'admin' | 'anonymous',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer>;
  close(): Promise<void>;
}

/** One HTTP(S) request, the server's certificate not checked (a test server's own). */
export function kubeCall(
  url: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const text =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? request : requestHttp)(
      new URL(path, url),
      {
        method,
        rejectUnauthorized: false,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(text !== undefined ? { 'content-type': contentType } : {}),
        },
      },
      (res) => {
        let out = '';
        res.setEncoding('utf8').on('data', (c: string) => (out += c));
        res.on('end', () => {
          let parsed: unknown = out;
          try {
            parsed = JSON.parse(out);
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** etcd and kube-apiserver on free ports; a port taken meanwhile (another test's) tries others. */
async function startProcesses(dir: string, adminToken: string) {
  for (let attempt = 1; ; attempt++) {
    const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
    const log = (name: string) => openSync(join(dir, `${name}-${attempt}.log`), 'w');
    const etcd = spawn(
      binary(ETCD, 'etcd'),
      [
        '--data-dir',
        join(dir, `etcd-${attempt}`),
        '--listen-client-urls',
        `http://127.0.0.1:${client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${peer}`,
        '--unsafe-no-fsync',
      ],
      { stdio: ['ignore', 'ignore', log('etcd')] },
    );
    const apiserver = spawn(
      binary(KUBE_APISERVER, 'kube-apiserver'),
      [
        '--etcd-servers',
        `http://127.0.0.1:${client}`,
        '--bind-address',
        '127.0.0.1',
        '--advertise-address',
        '127.0.0.1',
        '--secure-port',
        String(secure),
        '--cert-dir',
        join(dir, 'certs'),
        '--token-auth-file',
        join(dir, 'tokens.csv'),
        '--service-account-issuer',
        'https://kubernetes.default.svc',
        '--service-account-key-file',
        join(dir, 'sa.pub'),
        '--service-account-signing-key-file',
        join(dir, 'sa.key'),
        '--authorization-mode',
        'RBAC',
        '--service-cluster-ip-range',
        '10.0.0.0/24',
        // No Endpoints object for the `kubernetes` Service: 127.0.0.1 may not be one.
        '--endpoint-reconciler-type',
        'none',
      ],
      { stdio: ['ignore', 'ignore', log('kube-apiserver')] },
    );
    const url = `https://127.0.0.1:${secure}`;
    const stopBoth = async () => {
      await stop(apiserver);
      await stop(etcd);
    };
    // SIGKILL: kube-apiserver's graceful shutdown waits on an etcd that may be gone first.
    stopsWithThisProcess(apiserver, 'SIGKILL');
    stopsWithThisProcess(etcd, 'SIGKILL');
    try {
      await until(
        'kube-apiserver /readyz',
        async () => {
          if (apiserver.exitCode !== null || etcd.exitCode !== null) throw new Error('exited');
          return (
            (await kubeCall(url, adminToken, 'GET', '/readyz').catch(() => null))?.status === 200
          );
        },
        {
          timeoutMs: 110_000,
          intervalMs: 100,
          detail: () =>
            readFileSync(join(dir, `kube-apiserver-${attempt}.log`), 'utf8').slice(-2000),
        },
      );
      return { url, close: stopBoth };
    } catch (err) {
      await stopBoth();
      if (attempt >= 3 || (err as Error).message !== 'exited') throw err;
    }
  }
}

export async function startRealKube(): Promise<KubeServer> {
  const dir = tempFolder('poolsync-kube-apiserver-');
  const adminToken = `admin-${randomUUID()}`;
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin,system:masters\n`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const { url, close } = await startProcesses(dir, adminToken);
  const admin = (method: string, path: string, body?: unknown) =>
    kubeCall(url, adminToken, method, path, body);
  try {
    const must = async (what: string, answer: Promise<Answer>) => {
      const a = await answer;
      if (a.status >= 300) throw new Error(`${what}: HTTP ${a.status} ${JSON.stringify(a.body)}`);
      return a.body;
    };
    await must(
      'namespace',
      admin('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NAMESPACE },
      }),
    );
    // examples/deploy/rbac.yaml, as `kubectl apply -n poolsync -f` applies it.
    const paths: Record<string, string> = {
      ServiceAccount: `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`,
      Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles`,
      RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`,
    };
    const rbac = readFileSync(
      new URL('../../../examples/deploy/rbac.yaml', import.meta.url),
      'utf8',
    );
    for (const doc of loadAll(rbac) as { kind: string }[])
      await must(doc.kind, admin('POST', paths[doc.kind]!, doc));
    const request = (await must(
      'token',
      admin('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/poolsync/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      }),
    )) as { status: { token: string } };
    const token = request.status.token;
    // The authorizer learns of a new RoleBinding from its watch, a moment after it is created:
    // a call in that moment is refused (403). Ready once the service account may read Leases.
    await until('the service account authorized by examples/deploy/rbac.yaml', async () => {
      const probe = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/rbac-probe`;
      return (await kubeCall(url, token, 'GET', probe)).status !== 403;
    });
    return {
      name: 'kube-apiserver',
      url,
      token,
      kubeconfig: writeKubeconfig(url, token),
      call: (as, method, path, body) =>
        kubeCall(url, as === 'sa' ? token : as === 'admin' ? adminToken : null, method, path, body),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
