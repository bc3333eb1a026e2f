/**
 * The Open Policy Agent poolsync evaluates policies with (docs/policies.md): found, never
 * bundled, and run as a bounded child process. `opa eval` rather than `opa exec` (which wants a
 * bundle and a decision per input file) or a server (one more process to keep alive): one
 * process per evaluation, its time, memory, output and builtins limited, nothing left running.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Env } from '../util/env.js';
import { userCacheDir } from '../util/user-cache.js';
import { UserError } from '../util/user-error.js';

/** The OPA scripts/install-opa.sh builds (its cache folder is `opa-<this>`). */
export const OPA_VERSION = 'v1.22.3';

const HOW_TO_INSTALL = `install OPA ${OPA_VERSION} (scripts/install-opa.sh in poolsync's repository, \`go install github.com/open-policy-agent/opa@${OPA_VERSION}\`, or a release from https://github.com/open-policy-agent/opa/releases) and pass --opa PATH or set POOLSYNC_OPA`;

/** A file this process may run: a folder passes X_OK too (it may be entered), and is none. */
function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * OPA's binary: `--opa PATH`, else POOLSYNC_OPA, else scripts/install-opa.sh's cache, else
 * `opa` on PATH. A path given but not executable is an error, never a fallback to another.
 * `needs`: what configured the policies (PolicySet's `origin`), named when none is found.
 */
export function findOpa(flag: string | undefined, env: Env, needs = '--policies'): string {
  for (const [given, from] of [
    [flag, '--opa'],
    [env.POOLSYNC_OPA, 'POOLSYNC_OPA'],
  ] as const) {
    if (given === undefined || given.trim() === '') continue;
    if (executable(given)) return given;
    throw new UserError(`${from} ${given}: not an executable file; ${HOW_TO_INSTALL}`);
  }
  const cache = userCacheDir(`opa-${OPA_VERSION}`, env);
  if (cache !== null && executable(join(cache, 'bin', 'opa'))) return join(cache, 'bin', 'opa');
  for (const dir of (env.PATH ?? '').split(delimiter))
    if (isAbsolute(dir) && executable(join(dir, 'opa'))) return join(dir, 'opa');
  throw new UserError(`${needs} needs the Open Policy Agent and none was found: ${HOW_TO_INSTALL}`);
}

export interface OpaRun {
  /** Exit code, or null when killed (over its time or output). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** What stopped it: over `timeoutMs`, over `maxOutputBytes`, out of `memoryMiB`, or a crash. */
  stopped?: 'time' | 'output' | 'memory' | 'crash';
  elapsed_ms: number;
}

export interface OpaLimits {
  /** OPA's own `--timeout`; the process is killed if it is still running a second later. */
  timeoutMs: number;
  /** Bytes of stdout read at most (stderr: 64 KiB); the process is killed past it. */
  maxOutputBytes: number;
  /** MiB of data (its heap) OPA may map: past it OPA's runtime cannot allocate and stops. */
  memoryMiB: number;
}

/** OPA's memory bound when POOLSYNC_OPA_MEMORY does not say: the example policies on a 10,000-object plan need ~288 MiB. */
export const DEFAULT_OPA_MEMORY_MIB = 512;

/** POOLSYNC_OPA_MEMORY (MiB), else the default. */
export function opaMemoryMiB(env: Env): number {
  const given = env.POOLSYNC_OPA_MEMORY?.trim();
  if (!given) return DEFAULT_OPA_MEMORY_MIB;
  const mib = /^\d+$/.test(given) ? Number(given) : NaN;
  if (mib >= 128) return mib;
  throw new UserError(
    `POOLSYNC_OPA_MEMORY ${given}: not a whole number of MiB of at least 128; give the memory OPA may use for the policies (default ${DEFAULT_OPA_MEMORY_MIB})`,
  );
}

const STDERR_BYTES = 64 * 1024;

/** How Go's runtime dies: a fatal error, or a signal outside Go code (a panic is OPA's own). */
const RUNTIME_DIED = /^(fatal error: |SIG[A-Z]+: )/m;

/**
 * Go's deaths for want of memory: its allocator refused (`runtime: out of memory`, `runtime:
 * cannot allocate memory`; two threads' may interleave), or its garbage collector faulting on
 * memory the data limit refused.
 */
const OUT_OF_MEMORY =
  /^((fatal error: )+(runtime: )?(out of memory|cannot allocate memory)|SIGSEGV: .*\n([^\t\n].*\n|\n)*\truntime\/mgc)/m;

/**
 * `opa ARGS` in `cwd`, with no variable of poolsync's environment (no secret reaches it), bounded.
 * Memory by the shell's `ulimit -d` (RLIMIT_DATA counts Go's heap mappings; `-v` would count the
 * address space Go reserves at start, and it could not start), with GOMEMLIMIT at 3/4 of it so
 * that Go collects before it gets there (macOS ignores RLIMIT_DATA: there GOMEMLIMIT alone holds it).
 */
export function runOpa(
  opa: string,
  args: string[],
  cwd: string,
  limits: OpaLimits,
): Promise<OpaRun> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const limited = ['-c', 'ulimit -d "$0" && exec "$@"', String(limits.memoryMiB * 1024), opa];
    const env = { GOMEMLIMIT: `${Math.floor((limits.memoryMiB * 3) / 4)}MiB` };
    const child = spawn('/bin/sh', [...limited, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let stopped: OpaRun['stopped'];
    const stop = (why: NonNullable<OpaRun['stopped']>) => {
      stopped ??= why;
      child.kill('SIGKILL');
    };
    // OPA's --timeout cancels evaluation itself; this is for a process that does not stop then.
    const timer = setTimeout(() => stop('time'), limits.timeoutMs + 1000);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > limits.maxOutputBytes) return stop('output');
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < STDERR_BYTES) err.push(b.subarray(0, STDERR_BYTES - errBytes));
      errBytes += b.length;
    });
    const done = (code: number | null) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== 0 && RUNTIME_DIED.test(stderr))
        stopped ??= OUT_OF_MEMORY.test(stderr) ? 'memory' : 'crash';
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        ...(stopped ? { stopped } : {}),
        elapsed_ms: performance.now() - t0,
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        code: null,
        stdout: '',
        stderr: `cannot run ${opa}: ${e.code ?? e.message}`,
        elapsed_ms: 0,
      });
    });
    child.on('close', done);
  });
}
