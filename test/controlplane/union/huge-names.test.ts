/**
 * Issue 38, item 11, for Union: ~12 MB of queue names (120 names of 100,000 characters, as a
 * hostile or broken server could list them) took `plan --output json` past a 256 MB heap. The
 * live state is refused where it is read, naming where the value is; nothing is planned.
 */
import { create } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LIVE_STRING, readLiveState } from '../../../src/controlplane/types.js';
import { ControlPlaneError } from '../../../src/controlplane/errors.js';
import { QueueIdentifierSchema } from '../../../src/gen/cloudidl/common/identifier_pb.js';
import {
  QueueSchema,
  QueueState,
  type ListQueuesResponse,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';

let server: UnionServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** ListQueues answers with 120 more queues, each named with 100,000 characters. */
const hugeNames: Interceptor = (next) => async (req) => {
  const res = await next(req);
  if (!res.stream && req.method.name === 'ListQueues') {
    const message = res.message as ListQueuesResponse;
    for (let i = 0; i < 120; i++)
      message.queues.push(
        create(QueueSchema, {
          id: create(QueueIdentifierSchema, { name: `${i}`.padEnd(100_000, 'q') }),
          // A queue Union lists always has a state (an unknown one is an error of its own).
          status: { state: QueueState.ACTIVE },
        }),
      );
  }
  return res;
};

describe('union: huge live names', () => {
  it('12 MB of queue names: the read fails with where the value is, for both protocols', async () => {
    server = await startUnionServer({ interceptors: [hugeNames] });
    for (const protocol of ['connect', 'grpc'] as const) {
      const cp = await openUnion(server, protocol);
      try {
        const err = await readLiveState(cp).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ControlPlaneError);
        expect((err as ControlPlaneError).code).toBe('INVALID_ARGUMENT');
        expect((err as Error).message).toMatch(
          new RegExp(
            `^it reported a value of 100,000 characters at queues\\[\\d+\\]\\.name \\("\\d+q+"…\\): more than ${MAX_LIVE_STRING} characters`,
          ),
        );
        expect((err as Error).message.length).toBeLessThan(400);
      } finally {
        await cp.close();
      }
    }
  }, 60_000);
});
