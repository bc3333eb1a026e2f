/**
 * A TCP proxy on 127.0.0.1 in front of a server (TLS passes through it untouched) that a test
 * cuts as a network partition does: from `cut()` on nothing arrives either way. The connections
 * open stay open and silent, new ones are accepted and never answered: a request in flight hangs,
 * as one does when packets are dropped. What clients send meanwhile is dropped and counted
 * (`dropped()`), so a test knows a request went into the partition.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface PartitionProxy {
  /** `https://127.0.0.1:PORT` (the upstream's scheme). */
  url: string;
  cut(): void;
  /** Bytes clients sent since the cut (dropped). */
  dropped(): number;
  close(): Promise<void>;
}

export async function startPartitionProxy(upstream: string): Promise<PartitionProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let isCut = false;
  let dropped = 0;
  const drop = (client: Socket) => client.on('data', (c: Buffer) => (dropped += c.length)).resume();
  const upstreams: Socket[] = [];
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (isCut) return void drop(client);
    const up = connect(Number(target.port), target.hostname);
    upstreams.push(up);
    up.on('error', () => client.destroy());
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    cut: () => {
      isCut = true;
      for (const up of upstreams) {
        up.unpipe();
        up.removeAllListeners('error');
        up.on('error', () => {});
        up.destroy();
      }
      for (const client of sockets) {
        client.unpipe();
        drop(client);
      }
    },
    dropped: () => dropped,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...sockets, ...upstreams]) s.destroy();
        server.close(() => resolve());
      }),
  };
}
