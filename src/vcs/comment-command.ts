/**
 * The commands poolsync reads in pull-request comments: `poolsync apply` approves the held
 * part of the plan posted there, and `poolsync apply -e NAME` (or `--env NAME`) that of one
 * environment (docs/environments.md), like Atlantis' `atlantis apply -p PROJECT`.
 */

export interface CommentCommand {
  command: 'apply';
  /** The environment named with `-e` / `--env`; null when none is. */
  environment: string | null;
}

const COMMAND = /^\s*poolsync\s+apply(?:\s+(?:-e|--env)(?:\s+|=)(\S+))?\s*$/im;
/** An environment's name as poolsync.yaml allows it (lower case, case-sensitive). */
const NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** The first poolsync command of a comment (a line of its own), or null when it has none. */
export function parseCommentCommand(body: string): CommentCommand | null {
  const m = COMMAND.exec(body);
  if (!m || (m[1] !== undefined && !NAME.test(m[1]))) return null;
  return { command: 'apply', environment: m[1] ?? null };
}
