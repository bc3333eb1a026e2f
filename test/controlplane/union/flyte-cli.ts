/**
 * Union's own client (the `flyte` CLI and its flyteplugins.union.remote objects, from the venv of
 * scripts/install-union-venv.sh) run against poolsync's Union stand-in, for the tests beside it.
 * `venv` is a string (why it is missing) when the venv is not installed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { findUnionVenv } from '../../support/union-venv.js';
import type { UnionServer } from './helpers.js';

const run = promisify(execFile);
export const venv = findUnionVenv();

/**
 * The venv's `flyte` console script (flyte.cli.main:main), leaving at once when it is done: like
 * READ below, the client's native threads may abort the interpreter's teardown (SIGABRT) after
 * the command succeeded, which the test would take for a failure.
 */
const FLYTE = `
import os, sys
from flyte.cli.main import main
sys.argv[0] = "flyte"
try:
    main()
    code = 0
except SystemExit as e:
    if isinstance(e.code, str):
        print(e.code, file=sys.stderr)
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
`;

/** Runs `flyte --endpoint dns:///HOST --org acme --insecure ARGS` without a terminal. */
export function flyte(
  server: Pick<UnionServer, 'host'>,
  home: string,
  args: string[],
): Promise<{ code: number; out: string }> {
  return flyteCli(['--endpoint', `dns:///${server.host}`, '--org', 'acme', '--insecure', ...args], {
    HOME: home,
  });
}

/** Runs `flyte ARGV` without a terminal, with `env` (HOME at least) beside PATH. */
export async function flyteCli(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  if (typeof venv === 'string') throw new Error(venv);
  try {
    const { stdout, stderr } = await run(venv.python, ['-c', FLYTE, ...argv], {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', COLUMNS: '200', ...env },
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    };
  }
}

/** `flyte ARGS` that must succeed: its output, or the test fails with the command and what it printed. */
export function flyteOk(server: UnionServer, home: string): (args: string[]) => Promise<string> {
  return async (args) => {
    const r = await flyte(server, home, args);
    expect(r.code, `flyte ${args.join(' ')}: ${r.out}`).toBe(0);
    return r.out;
  };
}

/**
 * What Union's client reads, through its own objects (flyteplugins.union.remote), in one process
 * (importing flyte takes seconds): for each `KIND:NAME`, `to_dict()` of that object, or of every
 * one listed (`KIND:--list`; `KIND:--deleted`: the soft-deleted ones).
 */
const READ = `
import json, os, sys, flyte
from flyteplugins.union.remote import Queue, Cluster, ClusterPool
flyte.init(endpoint=sys.argv[1], insecure=True, org="acme")
out = []
for spec in sys.argv[2:]:
    kind, name = spec.split(":")
    cls = {"queue": Queue, "cluster": Cluster, "pool": ClusterPool}[kind]
    if name in ("--list", "--deleted"):
        out.append([x.to_dict() for x in cls.listall(deleted=name == "--deleted")])
    else:
        out.append(cls.get(name).to_dict())
print(json.dumps(out, default=str), flush=True)
# The client's native HTTP threads may abort the interpreter's teardown (SIGABRT): leave at once.
os._exit(0)
`;

export async function remote(
  server: UnionServer,
  home: string,
  args: string[],
): Promise<unknown[]> {
  if (typeof venv === 'string') throw new Error(venv);
  const argv = ['-c', READ, `dns:///${server.host}`, ...args];
  const env = { PATH: process.env.PATH ?? '', HOME: home };
  try {
    const { stdout } = await run(venv.python, argv, { env, timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } catch (err) {
    const e = err as { stderr?: string };
    const e2 = err as { stdout?: string; signal?: string };
    throw new Error(
      `Union's client failed to read ${args.join(' ')} (${e2.signal ?? 'exit'}): ${e.stderr ?? ''}${e2.stdout ?? ''}`,
    );
  }
}

export const byName = (list: unknown, name: string) =>
  (list as { name: string }[]).find((x) => x.name === name);
