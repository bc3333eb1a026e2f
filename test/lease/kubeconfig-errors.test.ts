/**
 * A kubeconfig poolsync cannot use: the error names the file, line and column and what is
 * wrong, never the file's text (it holds a bearer token), and a current-context naming no
 * context says so rather than "set KUBECONFIG" (docs/security.md, What is read).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/lease/k8s-lease.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { tempDir } from '../support/repo.js';

const TOKEN = 'S3CR3T-kubetok-23';

async function kubeconfig(text: string): Promise<string> {
  const file = join(await tempDir('poolsync-kubeconfig-'), 'kc.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(file: string): string {
  try {
    loadKubeConfig({ KUBECONFIG: file }, DEFAULT_LIMITS);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the kubeconfig was accepted');
}

describe('a kubeconfig poolsync cannot use', () => {
  it('that is not valid YAML: its place and fault, never its text', async () => {
    const file = await kubeconfig(
      `apiVersion: v1\nkind: Config\nusers: [ {name: u, user: {token: "${TOKEN}"} ] \n`,
    );
    const message = errorOf(file);
    expect(message).toBe(
      `cannot load a Kubernetes configuration (in-cluster service account or KUBECONFIG): ${file}:3:55: not valid YAML: missed comma between flow collection entries; set KUBECONFIG to a kubeconfig file of the cluster, or run in a pod with a service account`,
    );
    expect(message).not.toContain('S3CR3T');
  });

  it('whose current-context names no context: that context, not "set KUBECONFIG"', async () => {
    const file = await kubeconfig(
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: prod',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'contexts: [{name: staging, context: {cluster: c, user: u}}]',
        `users: [{name: u, user: {token: "${TOKEN}"}}]`,
      ].join('\n'),
    );
    expect(errorOf(file)).toBe(
      `the current-context 'prod' of KUBECONFIG (${file}) names no context in it: set current-context to one of its contexts (kubectl config use-context NAME)`,
    );
  });

  it('whose context names a cluster it does not hold', async () => {
    const file = await kubeconfig(
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: prod',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'contexts: [{name: prod, context: {cluster: gone, user: u}}]',
      ].join('\n'),
    );
    expect(errorOf(file)).toBe(
      `the context 'prod' of KUBECONFIG (${file}) names cluster 'gone', which it does not hold: add the cluster or point the context at one of its clusters`,
    );
  });
});
