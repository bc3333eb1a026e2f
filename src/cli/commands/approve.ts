/**
 * `poolsync approve [FINGERPRINT] --daemon URL`: approve the changes a daemon holds under
 * policy `safe` (docs/daemon.md#approvals). Without FINGERPRINT it shows what is held and the
 * command to approve it; with it, it approves exactly that (POST /approve with the daemon admin
 * token from POOLSYNC_ADMIN_TOKEN or --admin-token-file). A stale fingerprint is refused with
 * the reason.
 */
import { hostname, userInfo } from 'node:os';
import type { ApprovalStatus } from '../../daemon/approvals.js';
import { UserError } from '../../util/user-error.js';
import { adminToken, daemonBase, daemonRequest as call } from '../daemon-api.js';
import type { ApproveArgs } from '../define/approve.js';

export async function approve(args: ApproveArgs): Promise<void> {
  const base = daemonBase(args);
  const status = await call(`${base}/status`, { method: 'GET' });
  const { approval, leader, environments } = status.json as {
    approval?: ApprovalStatus;
    leader?: { isLeader: boolean; identity: string; leader: string | null };
    /** A daemon with environments (docs/environments.md): each holds its own. */
    environments?: Record<string, { approval?: ApprovalStatus }>;
  };
  // A follower answers with the leader's status; its own only when the leader is out of
  // reach, and then what waits is the leader's to say, not this replica's.
  if (leader && !leader.isLeader) {
    throw new UserError(
      `${base} is answered by ${leader.identity}, which is not the leader and could not reach it (leader: ${leader.leader ?? 'none yet'}): ` +
        'what waits for approval is not known here; retry in a few seconds',
    );
  }
  const held = environments
    ? Object.entries(environments).map(([name, e]) => [name, e.approval?.pending ?? null] as const)
    : [[null, approval?.pending ?? null] as const];
  if (!args.fingerprint) {
    const waiting = held.filter(([, p]) => p !== null);
    if (waiting.length === 0) {
      process.stdout.write('Nothing is waiting for approval.\n');
      return;
    }
    for (const [name, pending] of waiting)
      process.stdout.write(
        `${name !== null ? `Environment ${name}: ` : ''}${pending!.changes.length} change(s) held since ${pending!.since}${pending!.commit ? ` (commit ${pending!.commit.slice(0, 12)})` : ''}:\n` +
          pending!.changes.map((c) => `  ${c.action} ${c.address}\n`).join('') +
          `\nApprove exactly these: poolsync approve ${pending!.fingerprint} --daemon ${base}\n`,
      );
    return;
  }
  const token = await adminToken(args['admin-token-file'], 'approving');
  const approver = args.as?.trim() || defaultApprover();
  const res = await call(`${base}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fingerprint: args.fingerprint.trim(), approver }),
  });
  const body = res.json as { reason?: string; error?: string; leader?: string | null };
  if (res.status === 200) {
    process.stdout.write(
      `Approved ${args.fingerprint.trim()} as ${approver}; the daemon applies the held changes now (see ${base}/status).\n`,
    );
    return;
  }
  if (res.status === 409)
    throw new UserError(`Approval refused: ${body.reason ?? 'unknown reason'}`);
  if (res.status === 503) {
    throw new UserError(
      `${base}: ${body.error ?? 'not the leader'}${body.leader ? ` (the leader is ${body.leader})` : ''}; nothing was approved`,
    );
  }
  throw new UserError(
    `${base}/approve answered HTTP ${res.status}: ${body.error ?? body.reason ?? ''}`,
  );
}

function defaultApprover(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}
