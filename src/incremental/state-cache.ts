/**
 * The last state read from each embedded state file while the files are unchanged
 * (StateCachePort, src/controlplane/embedded/store.ts): the daemon opens its `file:` control
 * plane every run, ~40 ms and ~30 MB of garbage at 10,000 objects; the CLI makes none. An entry
 * matches only its files' identity (FilesIdentity.key). Readers share a kept value; a writer
 * takes it only when no reader holds it, and gives its state back after closing, under its lock.
 */
import type { FilesIdentity, StateCachePort, StateRead } from '../controlplane/embedded/store.js';

interface Entry<V> {
  /** FilesIdentity.key of the files read (or left). */
  identity: string;
  value: V;
  /** Readers holding the value. */
  readers: number;
}

/** A few state files per process (a daemon reaches one). */
const MAX_ENTRIES = 4;

/** A new, empty cache of an embedded control plane's states (EmbeddedOptions.stateCache). */
export function createEmbeddedStateCache<V = StateRead>(): StateCachePort<V> & {
  readonly size: number;
} {
  const entries = new Map<string, Entry<V>>();
  const matching = (files: FilesIdentity) => {
    const e = entries.get(files.path);
    return e !== undefined && e.identity === files.key ? e : null;
  };
  return {
    get size() {
      return entries.size;
    },
    hold(files) {
      const e = matching(files);
      if (e === null) return null;
      e.readers++;
      let held = true;
      const release = () => {
        if (held) e.readers--;
        held = false;
      };
      return { value: e.value, release };
    },
    keep(files, value) {
      entries.delete(files.path);
      entries.set(files.path, { identity: files.key, value, readers: 0 });
      for (const path of entries.keys()) {
        if (entries.size <= MAX_ENTRIES) break;
        entries.delete(path);
      }
    },
    take(files) {
      const e = matching(files);
      if (e === null || e.readers > 0) return null;
      entries.delete(files.path);
      return e.value;
    },
    forget(path) {
      entries.delete(path);
    },
  };
}
