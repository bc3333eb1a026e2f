/**
 * `poolsync apply` in a child process against a backend with manual steps: the command's
 * apply, with the control plane (the REST API at the given URL) wrapped by
 * withManualSteps. argv: JSON of the apply arguments, then the manual ops (comma-separated).
 */
import { openControlPlane } from '../../../src/controlplane/open.js';
import { apply } from '../../../src/cli/commands/apply.js';
import type { Args } from '../../../src/cli/define.js';
import { processIo, reportError } from '../../../src/cli/io.js';
import type { StepKind } from '../../../src/model/plan.js';
import { withManualSteps } from './manual-backend.js';

const args = JSON.parse(process.argv[2]!) as Args<'apply'>;
const ops = new Set((process.argv[3] ?? '').split(',').filter(Boolean) as StepKind[]);
const io = processIo();
try {
  process.exitCode = await apply(args, io, async (url, opts) =>
    withManualSteps(await openControlPlane(url, opts), ops),
  );
} catch (err) {
  process.exitCode = reportError(err, io);
}
