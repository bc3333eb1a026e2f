/**
 * vitest globalSetup: says once per run why the tests against the real kube-apiserver are
 * skipped (each such test skips with the same reason).
 */
import { kubeMissing } from './kube.js';

export default function setup(): void {
  if (kubeMissing)
    process.stderr.write(`tests against the real kube-apiserver skipped: ${kubeMissing}\n`);
}
