/**
 * vitest globalSetup: says once per run why the tests against the real flyteadmin are skipped
 * (each such test skips with the same reason), as the browser tests do for Chromium.
 */
import { realMissing } from './binaries.js';

export default function setup(): void {
  if (realMissing)
    process.stderr.write(`tests against the real flyteadmin skipped: ${realMissing}\n`);
}
