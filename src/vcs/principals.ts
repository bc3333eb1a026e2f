/**
 * Who a rule names, and whether an actor is one of them (docs/daemon.md#approvers). A rule is a
 * list of principals: a user (`alice`: a GitHub login or GitLab username, case-blind), a GitHub
 * team (`team:ORG/SLUG`: its active members, GitHub's team membership API), a GitLab group
 * (`group:PATH/TO/GROUP`: its members, inherited included, GitLab's group members API), or one
 * of the daemon's tokens (`token:admin`, `token:reconcile`: a request carrying it). poolsync.yaml
 * `approvers:` names them per environment and action (`ruleFor`); the policy owners reuse
 * `actorMatches`. A rule only ever narrows who may: it never grants what the forge refuses.
 */
import type { ApproverAction, ApproverRules } from '../model/desired.js';
import type { ForgeUser, Provider } from './types.js';

/** Who acts: a comment's author on its forge, or a request carrying one of the daemon's tokens. */
export type Actor =
  | { kind: 'user'; provider: Provider; user: ForgeUser }
  | { kind: 'token'; token: 'admin' | 'reconcile' };

/** A rule as poolsync.yaml writes it: its path (`approvers.production.approve`) and principals. */
export interface PrincipalRule {
  rule: string;
  principals: readonly string[];
  /** The last applied commit whose rule this is: the loaded commit's names more (daemon). */
  lastApplied?: string;
}

/** The forge's answers about teams and groups (forges.ts `createApprovalForge`). */
export interface Memberships {
  /** GitHub: an active member of ORG's team SLUG (`GET /orgs/{org}/teams/{slug}/memberships/{user}`). */
  teamMember(org: string, slug: string, login: string): Promise<boolean>;
  /** GitLab: a member of group PATH, inherited included (`GET /groups/:id/members/all/:user_id`). */
  groupMember(path: string, userId: number): Promise<boolean>;
}

/** The decision, the rule that decided it and the principal that matched (null: none did). */
export interface Match {
  allowed: boolean;
  rule: string;
  principal: string | null;
}

/**
 * The rule for `action` in `environment` (null: a repository without environments), the most
 * specific first: ENV.ACTION, ENV (a list) or ENV.*, then the same under `*`. Null: no rule.
 */
export function ruleFor(
  rules: ApproverRules | null | undefined,
  environment: string | null,
  action: ApproverAction,
): PrincipalRule | null {
  if (!rules) return null;
  for (const key of environment === null ? ['*'] : [environment, '*']) {
    const set = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (set === undefined) continue;
    const path = `approvers.${key}`;
    if (Array.isArray(set)) return { rule: path, principals: set as readonly string[] };
    const byAction = set as Partial<Record<ApproverAction | '*', readonly string[]>>;
    if (byAction[action]) return { rule: `${path}.${action}`, principals: byAction[action] };
    if (byAction['*']) return { rule: `${path}.*`, principals: byAction['*'] };
  }
  return null;
}

/**
 * The loaded commit's approver rule `own`, or the last applied commit's `theirs` when `own` is
 * looser: no rule where it had one, or a list naming anyone it does not (case-blind, as logins are).
 */
export function heldRule(
  own: PrincipalRule | null,
  theirs: PrincipalRule | null,
  commit: string,
): PrincipalRule | null {
  if (theirs === null) return own;
  const listed = new Set(theirs.principals.map((p) => p.toLowerCase()));
  if (own !== null && own.principals.every((p) => listed.has(p.toLowerCase()))) return own;
  return { ...theirs, lastApplied: commit };
}

type Parsed =
  | { kind: 'user'; login: string }
  | { kind: 'team'; org: string; slug: string }
  | { kind: 'group'; path: string }
  | { kind: 'token'; token: string };

/** A principal string's parts (the schema has checked its shape). */
export function parsePrincipal(p: string): Parsed {
  const colon = p.indexOf(':');
  const rest = p.slice(colon + 1);
  if (p.startsWith('team:')) {
    const slash = rest.indexOf('/');
    return { kind: 'team', org: rest.slice(0, slash), slug: rest.slice(slash + 1) };
  }
  if (p.startsWith('group:')) return { kind: 'group', path: rest };
  if (p.startsWith('token:')) return { kind: 'token', token: rest };
  return { kind: 'user', login: p };
}

/**
 * Whether `actor` is one of `rule`'s principals: users and tokens first (no call), then teams
 * and groups on the actor's own forge, in order, until one answers yes. A lookup that fails is
 * thrown only when no other principal matched: an unanswered question never allows.
 */
export async function actorMatches(
  forge: Memberships | null,
  rule: PrincipalRule,
  actor: Actor,
): Promise<Match> {
  const yes = (principal: string): Match => ({ allowed: true, rule: rule.rule, principal });
  const named = listedByName(rule, actor);
  if (named !== null) return yes(named);
  const parsed = rule.principals.map((p) => [p, parsePrincipal(p)] as const);
  let failure: unknown = null;
  if (actor.kind === 'user' && forge !== null)
    for (const [p, q] of parsed) {
      try {
        if (q.kind === 'team' && actor.provider === 'github') {
          if (await forge.teamMember(q.org, q.slug, actor.user.login)) return yes(p);
        } else if (q.kind === 'group' && actor.provider === 'gitlab' && actor.user.id !== null) {
          if (await forge.groupMember(q.path, actor.user.id)) return yes(p);
        }
      } catch (err) {
        failure ??= err;
      }
    }
  if (failure !== null) throw failure;
  return { allowed: false, rule: rule.rule, principal: null };
}

/** The principal naming `actor` itself (a user by login, a token), with no forge asked; or null. */
export function listedByName(rule: PrincipalRule, actor: Actor): string | null {
  for (const p of rule.principals) {
    const q = parsePrincipal(p);
    if (actor.kind === 'token' && q.kind === 'token' && q.token === actor.token) return p;
    if (
      actor.kind === 'user' &&
      q.kind === 'user' &&
      q.login.toLowerCase() === actor.user.login.toLowerCase()
    )
      return p;
  }
  return null;
}
