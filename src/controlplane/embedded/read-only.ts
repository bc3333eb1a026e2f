/**
 * The state of a `file:` control plane opened read-only (plan, export, the daemon), read at
 * open or, with `lazy` (plan), by the first call that needs it. `poolsync plan` asks first for
 * the state's key (EmbeddedControlPlane.stateKey) and, when its remembered plan has that key
 * (src/incremental/plan-memory.ts), nothing else: before a read the key is computed from the
 * files' metadata alone (state-identity.ts filesStateKey), so a remembered replan never reads or
 * parses the snapshot. After a read it is the read's key (readStateKey, which also knows
 * whether the state drains with time), kept when the control plane is closed.
 */
import type { EmbeddedStateCache } from './options.js';
import type { State } from './state.js';
import { filesStateKey, stateFilesIdentity } from './state-identity.js';
import { checkStateFiles, readStateOnce, type HeldRead } from './store.js';

export interface ReadOnlyOptions {
  /** Share unchanged reads with other readers through this cache (EmbeddedOptions.stateCache). */
  cache?: EmbeddedStateCache;
  /** Read on first use rather than at open. */
  lazy: boolean;
  /** Throws when the state read cannot be used (capabilities other than asked for). */
  accept: (state: State) => void;
}

export class ReadOnlyState {
  private reading: Promise<HeldRead> | null = null;
  private held: HeldRead | null = null;
  private keyOfRead: string | null = null;
  private released = false;

  private constructor(
    private readonly path: string,
    private readonly init: () => State,
    private readonly opts: ReadOnlyOptions,
  ) {}

  /** Checked at open either way (folders, Git): errors come where they came before. */
  static async open(
    path: string,
    init: () => State,
    opts: ReadOnlyOptions,
  ): Promise<ReadOnlyState> {
    const reader = new ReadOnlyState(path, init, opts);
    if (opts.lazy) await checkStateFiles(path);
    else await reader.state();
    return reader;
  }

  /** The state, read once. */
  async state(): Promise<State> {
    this.reading ??= this.read();
    return (await this.reading).state;
  }

  /** EmbeddedControlPlane.stateKey: of the files now before a read, of the read after it. */
  async key(): Promise<string | null> {
    if (this.reading !== null) {
      const read = await this.reading.then(
        () => true,
        () => false,
      );
      return read ? this.keyOfRead : null;
    }
    if (this.released) return null;
    return filesStateKey(await stateFilesIdentity(this.path));
  }

  release(): void {
    this.released = true;
    this.held?.release();
  }

  private async read(): Promise<HeldRead> {
    const held = await readStateOnce(this.path, this.init, this.opts.cache);
    try {
      this.opts.accept(held.state);
      this.keyOfRead = await held.stateKey();
    } catch (err) {
      held.release();
      throw err;
    }
    this.held = held;
    if (this.released) held.release();
    return held;
  }
}
