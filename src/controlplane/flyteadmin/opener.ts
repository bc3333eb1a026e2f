/**
 * `flyteadmin+https://HOST` (open.ts): Flyte's flyteadmin, its client loaded on demand.
 */
import { UserError } from '../../util/user-error.js';
import { refuseUrlCredentials } from '../../util/url-credentials.js';
import type { BackendOpener, OpenOptions } from '../opener.js';
import type { ControlPlane } from '../types.js';

export const flyteadminOpener: BackendOpener = {
  forms: "flyteadmin+https://HOST for Flyte's flyteadmin",
  matches: (url) => url.startsWith('flyteadmin+'),
  open: openFlyteadmin,
};

/**
 * `flyteadmin+https://HOST[:PORT][?org=ORG&clusters-configmap=NAMESPACE/NAME]` (or `+http://`
 * for a local flyteadmin): OAuth2 credentials from the environment; `org` (else
 * POOLSYNC_FLYTE_ORG) is flyteidl's org, `clusters-configmap` (else
 * POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP) the ConfigMap holding the cluster configuration flyteadmin
 * runs with (docs/flyte-oss.md, Labels wait for their deployment).
 */
async function openFlyteadmin(url: string, opts: OpenOptions): Promise<ControlPlane> {
  const inner = url.slice('flyteadmin+'.length);
  // Before any message repeats the URL: it would hold the secret.
  refuseUrlCredentials(
    inner,
    'the control plane URL',
    'set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE',
  );
  let parsed: URL;
  try {
    parsed = new URL(inner);
  } catch {
    throw new UserError(`control plane "${url}" is not a valid URL; use flyteadmin+https://HOST`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UserError(
      `control plane "${url}": use flyteadmin+https://HOST (or flyteadmin+http:// for a local flyteadmin)`,
    );
  const params = parsed.searchParams;
  const unknown = [...params.keys()].filter((k) => k !== 'org' && k !== 'clusters-configmap');
  if (unknown.length > 0)
    throw new UserError(
      `control plane "${url}": unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; a flyteadmin+ URL takes org=ORG and clusters-configmap=NAMESPACE/NAME`,
    );
  const org = params.get('org') ?? process.env.POOLSYNC_FLYTE_ORG ?? '';
  const configMap =
    params.get('clusters-configmap') ?? process.env.POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP ?? '';
  parsed.search = '';
  const { FlyteadminControlPlane, credentialsFromEnv, parseConfigMapRef } =
    await import('./client.js');
  return new FlyteadminControlPlane(parsed.toString(), {
    ...opts.http,
    credentials: await credentialsFromEnv(url),
    org: org.trim(),
    clustersConfigMap:
      configMap.trim() === '' ? null : parseConfigMapRef(configMap, 'clusters-configmap'),
  });
}
