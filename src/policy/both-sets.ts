/**
 * A plan judged by two commits' policy sets (docs/policies.md): the daemon's loaded commit and the
 * one it last applied, or in CI the pushed commit and the one before the push. A commit's set
 * judges the commits after it, so a merge cannot remove the rule that denies its own change.
 */
import {
  earlierCommit,
  failuresDigest,
  type PolicyFinding,
  type PolicyReport,
} from '../model/policy.js';
import { gitAnswer } from '../util/git.js';

/** Whether two commits' policy folders are the same tree (Git's object id): evaluated once. */
export async function sameFiles(
  a: { repo: string; commit: string; path: string },
  b: { commit: string; path: string },
): Promise<boolean> {
  const id = (p: { commit: string; path: string }) =>
    gitAnswer(['rev-parse', '--verify', '--quiet', `${p.commit}:${p.path}`], { cwd: a.repo }).then(
      (out) => out?.trim() ?? null,
    );
  const [x, y] = await Promise.all([id(a), id(b)]);
  return x !== null && x === y;
}

/**
 * One report of the loaded commit's set (`loaded`; null: it configures none) and the earlier
 * commit's (`earlier`; null: the same files, evaluated once) — the daemon's last applied commit,
 * or the commit before a push (`of.push`) — whose failures carry where they are from; `owners`:
 * that commit's, when they are the ones who approve (null: the loaded set's).
 */
export function judgedBoth(
  loaded: PolicyReport | null,
  earlier: PolicyReport | null,
  of: { commit: string; push?: true },
  owners: string[] | null,
): PolicyReport | null {
  const label = `policies of ${earlierCommit(of)}`;
  const tagged = (found: PolicyFinding[], own: PolicyFinding[]) =>
    found
      .filter(
        (f) => !own.some((o) => o.rule === f.rule && o.msg === f.msg && o.address === f.address),
      )
      .map((f) => ({ ...f, set: label }));
  const failed =
    earlier && (earlier.error ?? (earlier.rules === 0 ? '0 policies evaluated' : undefined));
  let report: PolicyReport;
  let set: NonNullable<PolicyReport['lastApplied']>['set'];
  if (loaded && earlier) {
    const deny = [...loaded.deny, ...tagged(earlier.deny, loaded.deny)];
    const warn = [...loaded.warn, ...tagged(earlier.warn, loaded.warn)];
    report = { ...loaded, deny, warn, elapsed_ms: loaded.elapsed_ms + earlier.elapsed_ms };
    set = { source: earlier.source, files: earlier.files, rules: earlier.rules };
  } else if (earlier) {
    const { error: _, ...own } = earlier;
    report = {
      ...own,
      from: 'folder',
      deny: tagged(earlier.deny, []),
      warn: tagged(earlier.warn, []),
    };
    set = 'only';
  } else if (loaded) {
    report = loaded;
    set = 'same';
  } else return null;
  if (report.error === undefined && failed) report = { ...report, error: `${label}: ${failed}` };
  const moved = owners !== null && owners.join('\n') !== report.owners.join('\n');
  if (set === 'same' && !moved) return report;
  const { failures: _digest, ...rest } = report;
  const both = {
    ...rest,
    owners: owners ?? report.owners,
    lastApplied: { ...of, set, owners: moved },
  };
  return both.deny.length > 0 ? { ...both, failures: failuresDigest(both) } : both;
}
