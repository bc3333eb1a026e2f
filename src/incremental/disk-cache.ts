/**
 * The plan memory's records on disk: one file per entry,
 * `<root>/<fingerprint>/<first two hex>/<key>.json`, every read and write through
 * util/safe-file.ts (no link followed, regular files only, bounded reads, exclusive unguessable
 * temporary names). An entry cannot change an answer (docs/manifests.md, "The cache folder"):
 * it carries its key and an HMAC-SHA256 over key and content under a secret only this folder
 * holds (`<root>/secret`, 32 random bytes, mode 0600). Anyone able to put files in the folder
 * (one committed to a repository, a shared one) could write an entry under a key; without the
 * secret it is a miss. A secret that is not a 0600 regular file of this user, or that Git
 * tracks, is replaced. Trimming lists and deletes only real folders and regular files named as
 * entries (`lstat`): it never leaves its folder.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Dirent } from 'node:fs';
import { lstat, readdir, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { trackedByGit } from '../util/tracked.js';
import {
  createFileOnce,
  ownFolders,
  ownRoot,
  readOwnFile,
  replaceFile,
} from '../util/safe-file.js';

const ENTRY_FORMAT = 'poolsync-cache-entry-1';
const ENTRY_NAME = /^[0-9a-f]{64}\.json$/;
const SUBFOLDER = /^[0-9a-f]{2}$/;
const FINGERPRINT = /^[0-9a-f]{32}$/;

export class DiskCache {
  private secret: Promise<Buffer | null> | null = null;
  private prepared: Promise<void> | null = null;
  private readonly folders = new Map<string, Promise<void>>();

  constructor(
    readonly root: string,
    private readonly fingerprint: string,
  ) {}

  private entryPath(key: string): string {
    return join(this.root, this.fingerprint, key.slice(0, 2), `${key}.json`);
  }

  /** The entry's content (JSON) when it verifies, else null: a miss. */
  async read(key: string, maxBytes: number): Promise<string | null> {
    const secret = await this.loadSecret();
    if (secret === null) return null;
    try {
      // A link, a FIFO, too large, unreadable, not JSON: a miss.
      const what = 'cache entry';
      const bytes = await readOwnFile(this.root, this.entryPath(key), { maxBytes, what });
      const newline = bytes?.indexOf(0x0a) ?? -1;
      if (bytes === null || newline < 0) return null;
      const head = bytes.subarray(0, newline).toString('utf8');
      const header = JSON.parse(head) as { format?: unknown; key?: unknown; mac?: unknown };
      if (header?.format !== ENTRY_FORMAT || header.key !== key || typeof header.mac !== 'string')
        return null;
      const body = bytes.subarray(newline + 1);
      const expected = mac(secret, key, body);
      const given = Buffer.from(header.mac, 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      return body.toString('utf8');
    } catch {
      return null;
    }
  }

  /** Writes one entry; false when it could not be (never fails the load). */
  async write(key: string, body: string): Promise<boolean> {
    try {
      const secret = await this.loadSecret();
      if (secret === null) return false;
      this.prepared ??= this.prepare();
      await this.prepared;
      const path = this.entryPath(key);
      const folder = join(this.root, this.fingerprint, key.slice(0, 2));
      let ready = this.folders.get(folder);
      if (!ready) this.folders.set(folder, (ready = ownFolders(this.root, path, true)));
      await ready;
      const content = Buffer.from(body, 'utf8');
      const header = JSON.stringify({
        format: ENTRY_FORMAT,
        key,
        mac: mac(secret, key, content).toString('hex'),
      });
      await replaceFile(path, (fh) => fh.writev([Buffer.from(`${header}\n`), content]));
      return true;
    } catch {
      return false; // read-only folder, full disk…: the next run is simply cold again
    }
  }

  /** The folder's secret, made (or replaced, when untrustworthy) on first use; null: no disk cache. */
  private loadSecret(): Promise<Buffer | null> {
    this.secret ??= (async () => {
      try {
        await ownRoot(this.root, true);
        const path = join(this.root, 'secret');
        const found = await trustedSecret(this.root, path);
        if (found !== 'untrusted' && found !== null) return found;
        const made = randomBytes(32);
        const write = (fh: FileHandle) => fh.writeFile(made.toString('hex'));
        if (found === 'untrusted') {
          await replaceFile(path, write); // replaces the entry itself, never what a link points to
          return made;
        }
        // false: another process made one first; use it
        if (await createFileOnce(path, write)) return made;
        const theirs = await trustedSecret(this.root, path);
        return theirs === 'untrusted' ? null : theirs;
      } catch {
        return null;
      }
    })();
    return this.secret;
  }

  /** Before the first entry: its .gitignore, and no entries of other versions. */
  private async prepare(): Promise<void> {
    // The cache folder never shows up as a change in a Git work tree it sits in.
    await createFileOnce(join(this.root, '.gitignore'), (fh) => fh.writeFile('*\n'), {
      mode: 0o644,
    }).catch(() => false); // a link there: left alone
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (entry.isDirectory() && FINGERPRINT.test(entry.name) && entry.name !== this.fingerprint)
        await rm(join(this.root, entry.name), { recursive: true, force: true });
    }
  }

  /**
   * Keeps the folder within `maxBytes`, dropping entries this load did not use, oldest first.
   * Only real folders and regular files named as entries are listed and deleted.
   */
  async trim(maxBytes: number, used: ReadonlySet<string>): Promise<void> {
    const base = join(this.root, this.fingerprint);
    await ownFolders(this.root, join(base, 'entry'), false);
    const files: { path: string; size: number; mtime: number; used: boolean }[] = [];
    for (const sub of await realEntries(base)) {
      if (!sub.isDirectory() || !SUBFOLDER.test(sub.name)) continue;
      for (const file of await realEntries(join(base, sub.name))) {
        if (!file.isFile() || !ENTRY_NAME.test(file.name)) continue;
        const path = join(base, sub.name, file.name);
        const s = await lstat(path);
        // Replaced by something else since it was listed: never deleted, counted as nothing.
        const size = s.isFile() ? s.size : -1;
        files.push({ path, size, mtime: s.mtimeMs, used: used.has(file.name.slice(0, -5)) });
      }
    }
    let total = files.reduce((n, f) => n + Math.max(0, f.size), 0);
    if (total <= maxBytes) return;
    files.sort((a, b) => Number(a.used) - Number(b.used) || a.mtime - b.mtime);
    for (const f of files) {
      if (total <= maxBytes) break;
      if (f.size < 0) continue;
      await unlink(f.path).catch(() => undefined);
      total -= f.size;
    }
  }
}

function mac(secret: Buffer, key: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(key).update('\n').update(body).digest();
}

/** `readdir` with the entries' own types (never what a link points to). */
async function realEntries(folder: string): Promise<Dirent[]> {
  return readdir(folder, { withFileTypes: true }).catch(() => []);
}

/**
 * The secret, null when absent, 'untrusted' when it is not a 0600 regular file of this user or
 * when Git tracks it (a cache folder in a checkout: POOLSYNC_CACHE_DIR pointed there).
 */
async function trustedSecret(root: string, path: string): Promise<Buffer | null | 'untrusted'> {
  let bytes: Buffer | null;
  try {
    // Hard links allowed: loadSecret links its new file into place, for a moment with two names.
    bytes = await readOwnFile(root, path, {
      maxBytes: 128,
      what: 'cache secret',
      allowHardLink: true,
    });
  } catch {
    return 'untrusted';
  }
  if (bytes === null) return null;
  // A committed one checked out under umask 077 is 0600 too: Git is asked (in a work tree only).
  if (await trackedByGit(root, path)) return 'untrusted';
  const st = await lstat(path);
  const uid = process.getuid?.();
  const text = bytes.toString('latin1');
  if (
    (uid !== undefined && st.uid !== uid) ||
    (st.mode & 0o077) !== 0 ||
    !/^[0-9a-f]{64}$/.test(text)
  )
    return 'untrusted';
  return Buffer.from(text, 'hex');
}
