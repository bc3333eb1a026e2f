/** How the union backend's modules make a call: by RPC (rpcs.ts), with withRetry. */
import type { CallState } from './transport.js';
import type { RpcName } from './rpcs.js';

/** One RPC with retries: `addr` names the object for messages (null for lists). */
export type Call = <T>(
  rpc: RpcName,
  addr: string | null,
  fn: (s: CallState) => Promise<T>,
) => Promise<T>;
