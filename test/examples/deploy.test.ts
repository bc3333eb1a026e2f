/**
 * examples/deploy as `kubectl apply -k` reads it (issue 24): no Secret and no secret value is
 * part of the kustomization, so an apply can never replace the real values; the Secret the
 * Deployment mounts is documented to be created from files, with exactly the keys the
 * Deployment reads; the replicas publish their address for leader hand-off (POD_IP).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const DEPLOY = resolve(import.meta.dirname, '../../examples/deploy');
const ROOT = resolve(import.meta.dirname, '../..');

type Doc = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };

function kustomization(): {
  resources?: string[];
  secretGenerator?: unknown[];
  configMapGenerator?: unknown[];
} {
  return loadAll(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8'))[0] as never;
}

function rendered(): Doc[] {
  return (kustomization().resources ?? []).flatMap(
    (file) => loadAll(readFileSync(join(DEPLOY, file), 'utf8')).filter(Boolean) as Doc[],
  );
}

describe('examples/deploy', () => {
  it('kubectl apply -k carries no Secret and no secret value', () => {
    const k = kustomization();
    expect(k.secretGenerator).toBeUndefined();
    const docs = rendered();
    expect(docs.map((d) => d.kind).sort()).toEqual(
      ['Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
    expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(docs);
    expect(text).not.toMatch(/replace-me|stringData/);
  });

  it('the Secret the Deployment mounts is created from files, with the keys it reads', () => {
    const deployment = rendered().find((d) => d.kind === 'Deployment') as {
      spec: {
        template: {
          spec: {
            volumes: { name: string; secret?: { secretName: string } }[];
            containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const secretVolume = pod.volumes.find((v) => v.secret)!;
    expect(secretVolume.secret!.secretName).toBe('poolsync');
    const env = pod.containers[0]!.env;
    const keys = env
      .map((e) => /^\/etc\/poolsync\/secrets\/(.+)$/.exec(e.value ?? '')?.[1])
      .filter((k): k is string => k !== undefined)
      .sort();
    expect(keys.length).toBeGreaterThan(0);
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    const command = /kubectl create secret generic poolsync \\\n([\s\S]*?)\n```/.exec(readme)![1]!;
    const documented = [...command.matchAll(/--from-file=([a-z-]+)=/g)].map((m) => m[1]).sort();
    expect(documented).toEqual(keys);
    // The pod IP, so the leader can publish where the other replica hands requests to it.
    expect(env.find((e) => e.name === 'POD_IP')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'status.podIP' },
    });
  });

  it('the pod’s memory limit holds its V8 heap bounds with room beside them', () => {
    // Issue 79 (docs/daemon.md#memory): the limit is the bench's measured peak with 25 %
    // headroom; NODE_OPTIONS (the Deployment's replaces the image's) bounds V8's old and young
    // generations below it, so V8 collects before the kernel kills.
    const deployment = rendered().find((d) => d.kind === 'Deployment') as {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; value?: string }[];
              resources: Record<string, { memory?: string }>;
            }[];
          };
        };
      };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    const { requests, limits } = container.resources;
    const mib = (q: string | undefined) => Number(/^(\d+)Mi$/.exec(q ?? '')?.[1] ?? NaN);
    const limit = mib(limits?.memory);
    expect(mib(requests?.memory)).toBeLessThanOrEqual(limit);
    const options = container.env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const flag = (name: string) => Number(new RegExp(`--${name}=(\\d+)`).exec(options)?.[1]);
    // The image's own cap is repeated: a Deployment's NODE_OPTIONS replaces it.
    const image = /NODE_OPTIONS=(\S+)/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1]!;
    expect(options).toContain(image);
    const old = flag('max-old-space-size');
    const semi = flag('max-semi-space-size');
    expect(old).toBeGreaterThan(0);
    expect(semi).toBeGreaterThan(0);
    // Both semi-spaces, and room outside the JS heap (the bench: ~90 MiB anonymous, ~55 MiB of
    // the node binary's pages).
    expect(limit).toBeGreaterThanOrEqual(old + 2 * semi + 144);
  });
});
