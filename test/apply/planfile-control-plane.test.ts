/**
 * Plan files name the control plane they were made for (issue 24): `apply PLANFILE` elsewhere is
 * refused saying so (not "the control plane changed"), before the other control plane is
 * opened or created; a `file:` state whose folder does not exist is an error unless a command
 * creates state on purpose. The CLI in child processes, embedded control planes on disk and
 * one served over HTTP.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneIdentity, sameControlPlane } from '../../src/controlplane/identity.js';
import type { Plan } from '../../src/model/plan.js';
import { controlPlaneEndpoint } from '../../src/util/control-plane-endpoint.js';
import { REPO_ROOT, runCli, startCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const REPO = join(REPO_ROOT, 'examples', 'config-repo');
let dir: string;
/** The CLI in the test's folder: apply keeps its records under ./.poolsync. */
const cli = (args: string[]) => runCli(args, {}, dir);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-planfile-cp-'));
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a saved plan names its control plane', () => {
  it('is refused on another one with that reason, even when both live states are equal (two new organisations)', async () => {
    const a = `file:${join(dir, 'a', 'cp.json')}`;
    const b = `file:${join(dir, 'b', 'cp.json')}`;
    const planFile = join(dir, 'plan.json');
    const made = await cli(['plan', REPO, '--control-plane', a, '--out', planFile, '-o', 'json']);
    expect(made.code, made.stderr).toBe(0);
    const plan = JSON.parse(made.stdout) as Plan;
    expect(plan.control_plane).toEqual({
      backend: 'embedded',
      endpoint: `file:${join(dir, 'a', 'cp.json')}`,
      organization: null,
      // a/cp.json did not exist: the plan is against a new, empty control plane (its header says so).
      new_state: true,
    });

    const elsewhere = await cli(['apply', planFile, '--control-plane', b]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(
      `${planFile} was made for another control plane: embedded file:${join(dir, 'a', 'cp.json')}, not file:${join(dir, 'b', 'cp.json')}. Nothing was applied`,
    );
    expect(elsewhere.stderr).not.toMatch(/stale|changed/);
    // Refused before anything was opened: no new organisation at b.
    expect(existsSync(join(dir, 'b', 'cp.json'))).toBe(false);

    // The same control plane, moved on since: that is the stale-plan refusal.
    const other = await cli([
      'apply',
      REPO,
      '--control-plane',
      a,
      '--auto-approve',
      '--target',
      'ClusterPool/prod',
    ]);
    expect(other.code, other.stderr).toBe(0);
    const stale = await cli(['apply', planFile, '--control-plane', a]);
    expect(stale.code).toBe(1);
    // Only the pool moved, as the plan makes it: stale, said so.
    expect(stale.stderr).toMatch(
      /stale plan: .* was partly applied: ClusterPool\/prod is as this plan makes it/,
    );

    // A relative spelling of the same file is the same control plane.
    const again = join(dir, 'plan2.json');
    expect((await cli(['plan', REPO, '--control-plane', a, '--out', again])).code).toBe(0);
    const relative = await cli([
      'apply',
      again,
      '--control-plane',
      `file:${join(dir, 'a', '..', 'a', 'cp.json')}`,
    ]);
    expect(relative.code, relative.stderr).toBe(0);
  });

  it('over HTTP: another server is another control plane', async () => {
    const servers = await Promise.all([0, 1].map(() => servedControlPlane()));
    const [one, two] = servers.map((s) => s.url.replace(/\/$/, ''));
    const planFile = join(dir, 'http-plan.json');
    const made = await cli(['plan', REPO, '--control-plane', one!, '--out', planFile]);
    expect(made.code, made.stderr).toBe(0);
    const refused = await cli(['apply', planFile, '--control-plane', `${two!}/`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `was made for another control plane: poolsync REST API ${one!}, not ${two!}`,
    );
    expect(await servers[1]!.embedded.listPools()).toHaveLength(1); // only `default`: untouched
    const applied = await cli(['apply', planFile, '--control-plane', `${one!}/`]);
    expect(applied.code, applied.stderr).toBe(0);
  });

  it('compares backend, endpoint and organisation', () => {
    const union = (organization: string) => ({
      backend: { name: 'union', kinds: [] },
      organization,
    });
    const acme = controlPlaneIdentity('union+https://acme.example.com/', union('acme'));
    expect(acme).toEqual({
      backend: 'union',
      endpoint: 'union+https://acme.example.com',
      organization: 'acme',
    });
    expect(
      sameControlPlane(acme, controlPlaneIdentity('union+https://ACME.example.com', union('acme'))),
    ).toBe(true);
    expect(
      sameControlPlane(acme, controlPlaneIdentity('union+https://acme.example.com', union('beta'))),
    ).toBe(false);
    expect(controlPlaneEndpoint('https://cp.example.com/api/?x=1')).toBe(
      'https://cp.example.com/api',
    );
  });
});

describe('file: control planes whose folder does not exist', () => {
  it('apply, plan and export refuse them and create nothing; serve --create-folder creates it (the default .poolsync/ is created as ever: the quickstart test)', async () => {
    const missing = join(dir, 'nonexistent', 'dir');
    for (const args of [
      ['apply', REPO, '--auto-approve'],
      ['plan', REPO],
      ['export', '--dir', join(dir, 'export-out')],
    ]) {
      const r = await cli([...args, '--control-plane', `file:${join(missing, 'cp.json')}`]);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain(
        `the folder ${missing} does not exist, so there is no control-plane state at`,
      );
      expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
    }
    const serveArgs = [
      'control-plane',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--state',
      join(missing, 'cp.json'),
    ];
    const serve = await cli(serveArgs);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain(`the folder ${missing} does not exist`);
    expect(existsSync(join(dir, 'nonexistent'))).toBe(false);

    const created = startCli([...serveArgs, '--create-folder'], {}, dir);
    await created.waitForOutput((out) => out.includes('control plane listening on'));
    created.child.kill('SIGTERM');
    await created.done;
    expect(existsSync(join(missing, 'cp.json'))).toBe(true);
  });
});
