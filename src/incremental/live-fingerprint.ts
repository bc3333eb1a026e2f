/**
 * The live fingerprint (src/plan/fingerprint.ts) for a long-running process: the daemon reads
 * the same frozen objects of an unchanged control plane on every drift check and approval, and
 * hashing them again cost tens of ms each time. The last hash is reused while the state holds
 * the very same frozen objects (same-objects.ts); the planner itself keeps no state.
 */
import type { LiveState } from '../model/live.js';
import { liveFingerprint } from '../plan/fingerprint.js';
import { lastSame } from './same-objects.js';
import { off } from './off.js';

const kept = lastSame(liveFingerprint);
export const rememberedLiveFingerprint = (live: LiveState): string =>
  off('live-fp') ? liveFingerprint(live) : kept(live);
