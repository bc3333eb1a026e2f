/**
 * `poolsync apply` in a child process against a backend with manual steps: the command's
 * runApply, with the control plane (the REST API at the given URL) wrapped by
 * withManualSteps. argv: JSON of the apply arguments, then the manual ops (comma-separated).
 */
import { openControlPlane } from '../../../src/controlplane/open.js';
import { runApply } from '../../../src/cli/commands/apply.js';
import type { ApplyArgs } from '../../../src/cli/define/apply.js';
import { UserError } from '../../../src/util/user-error.js';
import type { StepKind } from '../../../src/model/plan.js';
import { withManualSteps } from './manual-backend.js';

const args = JSON.parse(process.argv[2]!) as ApplyArgs;
const ops = new Set((process.argv[3] ?? '').split(',').filter(Boolean) as StepKind[]);
try {
  process.exitCode = await runApply(args, async (url, opts) =>
    withManualSteps(await openControlPlane(url, opts), ops),
  );
} catch (err) {
  if (!(err instanceof UserError)) throw err;
  process.stderr.write(`Error: ${err.message}\n`);
  process.exitCode = err.exitCode;
}
