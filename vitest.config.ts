import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';

/** Ends every run with the plain `N passed, N failed, N skipped` line that CI logs are read for. */
const summaryLine: Reporter = {
  onTestRunEnd(testModules) {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) count[test.result().state] += 1;
    }
    process.stdout.write(
      `\n${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`,
    );
  },
};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A limit for a hung test, not a speed check (bench/ measures speed): the real flyteadmin's
    // tests start PostgreSQL and flyteadmin, and took over 30 s on a 2-core machine at load 18.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two workers a core (vitest's default leaves one core idle). Most files wait on sockets and
    // child processes: the whole suite on an idle 2-core machine took 387 s with 2 workers, 337 s
    // with 3, 319 s with 4 (issue 62); no test depends on having the machine to itself.
    maxWorkers: '200%',
    // The first: the run's own temp folder (TMPDIR), removed at the end; the third and fourth:
    // one line when the real flyteadmin or kube-apiserver cannot run here (their tests skip).
    globalSetup: [
      'test/setup/run-temp-folder.ts',
      'test/setup/cache-folder.ts',
      'test/flyteadmin/real/global-setup.ts',
      'test/lease/real/global-setup.ts',
    ],
    // A worker's files share its process: a process per file loaded Node, vitest and
    // node_modules again for each of the ~260 files (10 small files: 33-46 s → 15-18 s under
    // the same load; the long files' own tests are unchanged). test/setup/fresh-modules.ts gives each file fresh
    // poolsync modules, the worker's starting environment and working folder.
    isolate: false,
    // Before each file: fresh modules (above); after each test: what it gave
    // test/support/cleanup.ts is undone; after each file: the folders
    // test/support/temp-folder.ts made are removed.
    setupFiles: [
      'test/setup/fresh-modules.ts',
      'test/setup/cleanup.ts',
      'test/setup/remove-temp-folders.ts',
    ],
    reporters: ['default', summaryLine],
  },
});
