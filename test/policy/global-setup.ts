/**
 * vitest globalSetup: says once per run why the tests against the real OPA are skipped (each
 * such test skips with the same reason).
 */
import { opaMissing } from './opa.js';

export default function setup(): void {
  if (opaMissing) process.stderr.write(`tests against the real OPA skipped: ${opaMissing}\n`);
}
