/**
 * An apply killed at a step boundary (issue 73 item 10), seen from the control plane: a proxy in
 * front of it forwards every call until the `at`-th write, then none. The `at`-th write is
 * either never sent (the process died before it) or sent and its answer lost (it died while
 * waiting); each write after it is refused, as a dead process sends nothing more. The refusal
 * is one the backend does not retry (each API's own error shape), so the apply ends at once;
 * what it then records locally is undone by the caller (outside.ts), as a kill -9 records
 * nothing.
 */
import type { ServerResponse } from 'node:http';
import { answer, forward, listenLoopback, readRequest } from '../../../support/forwarding.js';
import type { Refusal } from './targets.js';

export interface Cut {
  url: string;
  /** Writes seen (sent on or refused). */
  readonly writes: number;
  close(): Promise<void>;
}

/** A write of each API: Connect's Create/Update/Delete/Undelete, any other verb than GET. */
function isWrite(refusal: Refusal, method: string, path: string): boolean {
  if (refusal === 'connect') return /\/(Create|Update|Delete|Undelete)[A-Za-z]*$/.test(path);
  // OAuth2's token request is no write of the control plane's.
  return method !== 'GET' && method !== 'HEAD' && !/\/oauth2?\/|\/token$/.test(path);
}

/** Each API's error for a call it will not take, one its clients do not retry. */
function refusalOf(refusal: Refusal): { status: number; body: unknown } {
  const message = 'the apply was killed here: the control plane got no more writes from it';
  switch (refusal) {
    case 'connect':
      return { status: 400, body: { code: 'failed_precondition', message } };
    case 'rest':
      return { status: 412, body: { code: 'FAILED_PRECONDITION', message } };
    case 'flyteadmin':
      return { status: 400, body: { code: 9, message, details: [] } };
  }
}

export async function startCut(
  upstream: string,
  refusal: Refusal,
  cut: { at: number; landed: boolean },
): Promise<Cut> {
  const target = new URL(upstream);
  let writes = 0;
  const refused = refusalOf(refusal);
  const refuse = (res: ServerResponse) => {
    const text = JSON.stringify(refused.body);
    res.writeHead(refused.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const server = await listenLoopback((req, res) =>
    readRequest(req, (body) => {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      const write = isWrite(refusal, req.method ?? 'GET', path);
      const n = write ? ++writes : 0;
      if (write && n > cut.at) return refuse(res);
      if (write && n === cut.at && !cut.landed) return refuse(res);
      forward(target, req, body, res, (up, whole) => {
        // Landed, but the process that sent it is gone: its answer never reaches it.
        if (write && n === cut.at) return refuse(res);
        answer(res, up, whole, 'pass');
      });
    }),
  );
  return {
    url: `http://127.0.0.1:${server.port}`,
    get writes() {
      return writes;
    },
    close: server.close,
  };
}
