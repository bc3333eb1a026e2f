import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type Reporter, type TestSpecification } from 'vitest/node';

/** Ends every run with the plain `N passed, N failed, N skipped` line that CI logs are read for. */
const summaryLine: Reporter = {
  onTestRunEnd(testModules) {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) count[test.result().state] += 1;
    }
    // A file that fails to load has no tests to count: named apart, or the line said 0 failed.
    const unloaded = testModules.filter((m) => m.errors().length > 0).length;
    const files = unloaded > 0 ? `, ${unloaded} file${unloaded > 1 ? 's' : ''} failed to load` : '';
    process.stdout.write(
      `\n${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped${files}\n`,
    );
  },
};

/**
 * The files that take longest, longest first: those of 20 s or more in a whole run on 2 cores
 * (issue 62; 4 workers, a machine loaded by other runs; the peers there: Union's client, the
 * real flyteadmin). Vitest starts the files it has no duration for largest first (bytes), and
 * a fresh clone has none: of 257 files, docs/commands.test.ts (42 s) started 154th,
 * plan/property-outside.test.ts 217th, plan/plan-equals-apply.test.ts (15 s) 250th: a long
 * file started that late ends the run late. Every file not listed runs after these, in
 * vitest's order. A file that got faster only costs a place here; one that got slow belongs in
 * the list.
 */
const LONGEST = [
  'test/docs/commands.test.ts',
  'test/controlplane/union/rules-table.e2e.test.ts',
  'test/controlplane/union/flyte-cli-soft-deletes.e2e.test.ts',
  'test/cli/package.test.ts',
  'test/controlplane/union/flyte-cli.e2e.test.ts',
  'test/examples/ci-examples.test.ts',
  'test/daemon/ha.e2e.test.ts',
  'test/apply/state-hostile.test.ts',
  'test/daemon/environments-ha.e2e.test.ts',
  'test/manifests/generated-validators.test.ts',
  'test/manifests/hostile-corpus.test.ts',
  'test/apply/plan-shows-what-happens.test.ts',
  'test/plan/property-outside.test.ts',
  'test/manifests/incremental-daemon.test.ts',
  'test/controlplane/hostile.test.ts',
  'test/daemon/memory-limits.e2e.test.ts',
  'test/examples/union-example.e2e.test.ts',
  'test/daemon/daemon.e2e.test.ts',
  'test/cli/completion.test.ts',
  'test/flyteadmin/deployment.e2e.test.ts',
  'test/plan/convergence.test.ts',
  'test/apply/cli.test.ts',
  'test/vcs/pull-request-handler.test.ts',
  'test/daemon/approvals.e2e.test.ts',
  'test/apply/manual-cli.test.ts',
  'test/daemon/approvals-shown.e2e.test.ts',
  'test/manifests/incremental.test.ts',
  'test/plan/plan-equals-apply.test.ts',
  'test/daemon/watch.e2e.test.ts',
  'test/flyteadmin/projects-org.e2e.test.ts',
  'test/lease/lease.test.ts',
  'test/controlplane/union/cli.e2e.test.ts',
];

/** LONGEST first, in its order; then the rest as vitest orders them. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const place = (f: TestSpecification) => {
      const i = LONGEST.indexOf(relative(f.project.config.root, f.moduleId));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => place(a) - place(b));
  }
}

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
    // with 3, 319 s with 4 (issue 62); no test depends on having the machine to itself. A number:
    // vitest caps a percentage at the number of cores ('200%' ran 2 workers on 2 cores).
    maxWorkers: 2 * availableParallelism(),
    sequence: { sequencer: LongestFirst },
    // The first: the run's own temp folder (TMPDIR), removed at the end; the second: the
    // checkout's .poolsync/ left as it was; the fourth to sixth:
    // one line when the real flyteadmin, kube-apiserver or OPA cannot run here (their tests skip).
    globalSetup: [
      'test/setup/run-temp-folder.ts',
      'test/setup/checkout-state-untouched.ts',
      'test/setup/cache-folder.ts',
      'test/flyteadmin/real/global-setup.ts',
      'test/lease/real/global-setup.ts',
      'test/policy/global-setup.ts',
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
