/**
 * PostgreSQL for the real flyteadmin. flyteadmin cannot migrate an SQLite database: gorm's
 * SQLite dialect writes the `autoIncrement` ID of models.BaseModel as `integer PRIMARY KEY
 * AUTOINCREMENT` beside each table's own primary key, and SQLite refuses the table (`table
 * "projects" has more than one primary key`, flyteadmin v1.12.0 and v1.13.0 alike), so it
 * runs on PostgreSQL as it does in flyte-core. One cluster per test file, in a temp folder,
 * listening on a Unix socket there only (no port); flyteadmin's migrations run once into a
 * template database and every server of the file gets a copy (CREATE DATABASE … TEMPLATE).
 * As root, initdb and postgres run as the `postgres` user (they refuse root).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopsWithThisProcess } from '../../support/stops-with-this-process.js';

const run = promisify(execFile);

const SEARCH = [
  process.env.POOLSYNC_PG_BIN,
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
  '/usr/local/bin',
  '/usr/bin',
].filter((p): p is string => !!p);

/** The folder holding initdb and postgres, or null. */
export const pgBin: string | null =
  SEARCH.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'))) ?? null;

export interface Postgres {
  /** The socket folder: flyteadmin's `database.postgres.host`. */
  host: string;
  port: number;
  /** Runs SQL as the superuser. */
  sql(statement: string, database?: string): Promise<string>;
  close(): Promise<void>;
}

const PORT = 5432;

/** As the `postgres` user when root (initdb and postgres refuse to run as root). */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]]
    : [cmd, args];
}

export async function startPostgres(): Promise<Postgres> {
  if (!pgBin) throw new Error('no PostgreSQL (initdb, postgres): apt-get install postgresql');
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-pg-'));
  let child: ChildProcess | null = null;
  try {
    await chmod(dir, 0o755);
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    if (userInfo().uid === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
      await chown(data, Number(stdout.trim()), Number(gid.trim()));
    }
    const [initdb, initArgs] = asOwner(join(pgBin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await run(initdb, initArgs);
    const [postgres, args] = asOwner(join(pgBin, 'postgres'), [
      '-D',
      data,
      '-k',
      dir,
      '-p',
      String(PORT),
      '-c',
      'listen_addresses=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ]);
    const started = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    stopsWithThisProcess(started, 'SIGINT'); // fast shutdown
    const log: Buffer[] = [];
    started.stderr!.on('data', (c: Buffer) => log.push(c));
    const exited = new Promise<void>((r) => started.once('exit', () => r()));
    const sql = async (statement: string, database = 'postgres') =>
      (
        await run(join(pgBin!, 'psql'), [
          '-h',
          dir,
          '-p',
          String(PORT),
          '-U',
          'postgres',
          '-d',
          database,
          '-v',
          'ON_ERROR_STOP=1',
          '-Atc',
          statement,
        ])
      ).stdout;
    // Ready once it answers a query (it logs "ready to accept connections" first).
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (started.exitCode !== null)
          return reject(
            new Error(`postgres did not start:\n${Buffer.concat(log).toString('utf8')}`),
          );
        if (!/ready to accept connections/.test(Buffer.concat(log).toString('utf8'))) {
          started.stderr!.once('data', check);
          return;
        }
        resolve();
      };
      started.once('exit', check);
      check();
    });
    return {
      host: dir,
      port: PORT,
      sql,
      close: async () => {
        if (started.exitCode === null) {
          started.kill('SIGINT'); // fast shutdown
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
