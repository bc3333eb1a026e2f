/**
 * poolsync.yaml `approvers:` rules and their principals (src/vcs/principals.ts,
 * docs/daemon.md#approvers): the most specific rule decides; users and tokens match by name,
 * teams and groups through the forge (here a recording stand-in of forges.ts's answers: the
 * forges themselves are asked in test/daemon/approvers.test.ts); a question the forge cannot
 * answer never allows.
 */
import { describe, expect, it } from 'vitest';
import type { ApproverRules } from '../../src/model/desired.js';
import { actorMatches, ruleFor, type Memberships } from '../../src/vcs/principals.js';

const RULES: ApproverRules = {
  '*': { approve: ['team:acme/platform'], '*': ['token:admin'] },
  production: { approve: ['team:acme/sre', 'Alice'], override: [] },
  staging: ['group:acme/dev'],
};

describe('ruleFor: the most specific rule decides', () => {
  it.each([
    ['production', 'approve', 'approvers.production.approve'],
    ['production', 'override', 'approvers.production.override'],
    // production names no `sync` nor `*`: the `*` environment's rules apply.
    ['production', 'sync', 'approvers.*.*'],
    ['staging', 'suspend', 'approvers.staging'],
    ['qa', 'approve', 'approvers.*.approve'],
    [null, 'approve', 'approvers.*.approve'],
  ] as const)('%s %s → %s', (environment, action, rule) => {
    expect(ruleFor(RULES, environment, action)?.rule).toBe(rule);
  });

  it('no rules, or none for the action: null (who may today)', () => {
    expect(ruleFor(undefined, 'production', 'approve')).toBeNull();
    expect(ruleFor({ production: { approve: ['alice'] } }, 'production', 'sync')).toBeNull();
    expect(ruleFor({ production: ['alice'] }, null, 'approve')).toBeNull();
  });
});

/** The forge's answers, and the questions asked. */
function forge(teams: Record<string, string[]>, groups: Record<string, number[]> = {}) {
  const asked: string[] = [];
  const m: Memberships = {
    teamMember: async (org, slug, login) => {
      asked.push(`team:${org}/${slug} ${login}`);
      if (org === 'broken') throw new Error('GitHub answered HTTP 502');
      return teams[`${org}/${slug}`]?.includes(login) ?? false;
    },
    groupMember: async (path, id) => {
      asked.push(`group:${path} ${id}`);
      return groups[path]?.includes(id) ?? false;
    },
  };
  return { m, asked };
}

const github = (login: string) =>
  ({ kind: 'user', provider: 'github', user: { login, id: 1 } }) as const;

describe('actorMatches', () => {
  it('a user by login (case-blind) without asking the forge; a team member through it', async () => {
    const f = forge({ 'acme/sre': ['carol'] });
    const rule = ruleFor(RULES, 'production', 'approve')!;
    expect(await actorMatches(f.m, rule, github('alice'))).toEqual({
      allowed: true,
      rule: 'approvers.production.approve',
      principal: 'Alice',
    });
    expect(f.asked).toEqual([]);
    expect(await actorMatches(f.m, rule, github('carol'))).toMatchObject({
      allowed: true,
      principal: 'team:acme/sre',
    });
    expect(await actorMatches(f.m, rule, github('bob'))).toEqual({
      allowed: false,
      rule: 'approvers.production.approve',
      principal: null,
    });
  });

  it("teams are GitHub's, groups GitLab's: a principal of the other forge is never asked", async () => {
    const f = forge({ 'acme/dev': ['bob'] }, { 'acme/dev': [7] });
    const rule = { rule: 'r', principals: ['team:acme/dev', 'group:acme/dev'] };
    const gitlab = { kind: 'user', provider: 'gitlab', user: { login: 'bob', id: 7 } } as const;
    expect((await actorMatches(f.m, rule, gitlab)).principal).toBe('group:acme/dev');
    expect(f.asked).toEqual(['group:acme/dev 7']);
  });

  it('a token matches only its own principal; an empty rule allows no one', async () => {
    const f = forge({});
    const rule = ruleFor(RULES, 'production', 'sync')!;
    expect((await actorMatches(f.m, rule, { kind: 'token', token: 'admin' })).allowed).toBe(true);
    expect((await actorMatches(f.m, rule, { kind: 'token', token: 'reconcile' })).allowed).toBe(
      false,
    );
    const none = ruleFor(RULES, 'production', 'override')!;
    expect(await actorMatches(f.m, none, { kind: 'token', token: 'admin' })).toEqual({
      allowed: false,
      rule: 'approvers.production.override',
      principal: null,
    });
  });

  it('a lookup that fails: thrown when nothing else matched, never an allow', async () => {
    const f = forge({ 'acme/sre': ['carol'] });
    const rule = { rule: 'r', principals: ['team:broken/x', 'team:acme/sre'] };
    expect((await actorMatches(f.m, rule, github('carol'))).principal).toBe('team:acme/sre');
    await expect(actorMatches(f.m, rule, github('bob'))).rejects.toThrow('HTTP 502');
  });
});
