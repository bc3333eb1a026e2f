/**
 * poolsync.yaml `approvers:` as the loader reads it (docs/daemon.md#approvers): kept in the
 * repository's config for the daemon; an unknown environment, a principal of no known shape or
 * an unknown action is an error at its node, so a misspelt rule never guards nothing silently.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { twoEnvironments, writeFiles } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-approvers-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const CPS = { dev: 'file:.state/dev.json', prod: 'file:.state/prod.json' };

async function load(approvers: string, files = twoEnvironments(CPS)) {
  files['poolsync.yaml'] += approvers;
  await writeFiles(dir, files);
  const r = await loadRepository(dir, { environment: 'prod' });
  return {
    r,
    at: r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code}: ${e.message}`),
  };
}

describe('approvers in poolsync.yaml', () => {
  it('per environment and action, users, teams, groups and tokens: kept for the daemon', async () => {
    const { r } = await load(
      [
        'approvers:',
        "  '*': [team:acme/platform, token:admin]",
        '  prod:',
        '    approve: [alice, team:acme/sre, group:acme/infra/sre]',
        "    '*': ['dependabot[bot]']",
        '',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.desired!.config.approvers).toEqual({
      '*': ['team:acme/platform', 'token:admin'],
      prod: {
        approve: ['alice', 'team:acme/sre', 'group:acme/infra/sre'],
        '*': ['dependabot[bot]'],
      },
    });
  });

  it('an environment poolsync.yaml does not declare is an error at its key, naming them', async () => {
    const { at } = await load('approvers:\n  production: [alice]\n');
    expect(at).toEqual([
      "poolsync.yaml:15:3 SCHEMA: approvers.production names no environment of poolsync.yaml (environments: dev, prod); use '*' for every one",
    ]);
  });

  it('a principal of no known shape, or an unknown action, is a schema error at its node', async () => {
    const { at } = await load('approvers:\n  prod:\n    approve: [team:acme]\n    deploy: [bob]\n');
    expect(at).toHaveLength(2);
    expect(at[0]).toBe(
      "poolsync.yaml:16:15 SCHEMA: approvers.prod.approve[0] 'team:acme' is not a principal: a user (alice), team:ORG/SLUG (a GitHub team), group:PATH (a GitLab group), token:admin or token:reconcile",
    );
    expect(at[1]).toMatch(/^poolsync.yaml:17:5 SCHEMA: .*deploy/);
  });

  it('without environments, only * may be named', async () => {
    await writeFiles(dir, {
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\napprovers:\n  prod: [alice]\n',
    });
    const r = await loadRepository(dir, {});
    expect(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual([
      "4:3 approvers.prod names an environment, and poolsync.yaml declares none: use '*' for the one control plane",
    ]);
  });
});
