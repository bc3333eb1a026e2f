/**
 * Endpoints that fail as a user's network does (issue 78), on real loopback sockets:
 *
 * - `wrongName`: HTTPS whose certificate names `other.example`, signed by the test CA this
 *   process trusts while the test runs (`trustTestCa`): Node's ERR_TLS_CERT_ALTNAME_INVALID;
 * - `nameInCnOnly`: HTTPS whose self-signed certificate (trusted as the test CA is) names 127.0.0.1
 *   in its subject CN alone, no subjectAltName (`openssl req -x509 -subj /CN=127.0.0.1`);
 * - `expired`: HTTPS with a certificate for 127.0.0.1 that expired in 2001 (CERT_HAS_EXPIRED);
 * - `unknownChain`: the wrong-name server without the test CA trusted (UNABLE_TO_VERIFY_…);
 * - `reset`: a port that accepts each connection and resets it (ECONNRESET);
 * - `closed`: loopback port 1, which nothing listens on (ECONNREFUSED);
 * - `unknownHost`: a name under `.invalid`, which never resolves (RFC 2606; ENOTFOUND);
 * - `proxyAuth`: an HTTP proxy in the way that wants credentials (407, as Squid answers);
 * - `notHttp1`: an HTTP/2-only port (a gRPC server's, as flyteadmin's 8089): its SETTINGS frame,
 *   then the connection closed, as grpc-go answers an HTTP/1.1 request;
 * - `tlsPort`: a TLS server (node:tls) given as http://: OpenSSL closes a connection that starts
 *   with an HTTP request (ERR_SSL_HTTP_REQUEST), at once and on every try;
 * - `tlsAlert`: a TLS port that answers plain HTTP with a TLS alert record (protocol_version), as
 *   a TLS stack that sends one before closing does;
 * - `httpsPage`: an HTTPS port's page to plain HTTP, as Go's net/http (flyteadmin's server)
 *   answers it: `HTTP/1.0 400`, "Client sent an HTTP request to an HTTPS server."
 *
 * The certificates are test/fixtures/tls (their README says how they were made).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { cleanup } from './cleanup.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/**
 * This process's TLS clients trust the test CA until the test ends (Node ≥ 22.19:
 * tls.setDefaultCACertificates); false where Node cannot, so a test can skip with a message.
 */
export function trustTestCa(): boolean {
  const t = tls as typeof tls & {
    setDefaultCACertificates?: (certs: string[]) => void;
    getCACertificates?: (type: 'default') => string[];
  };
  if (!t.setDefaultCACertificates || !t.getCACertificates) return false;
  const before = t.getCACertificates('default');
  // The self-signed certificates are their own authority.
  const authorities = ['ca.pem', 'cn-only.pem', 'cn-beside-altname.pem'].map(fixture);
  t.setDefaultCACertificates([...before, ...authorities]);
  cleanup.add(() => t.setDefaultCACertificates!(before));
  return true;
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/**
 * An HTTPS server with the fixture certificate `cert` (its README), answering `{}` to anything it
 * lets in, at `https://HOST:PORT` (it listens on 127.0.0.1).
 */
export async function httpsWith(
  cert: 'other-name.pem' | 'expired.pem' | 'cn-only.pem' | 'cn-beside-altname.pem',
  host = '127.0.0.1',
): Promise<string> {
  const server = createHttpsServer({ key: fixture('server.key'), cert: fixture(cert) }, (_q, s) =>
    s.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
  );
  // A client refusing the certificate ends the handshake: no error of the server's.
  server.on('tlsClientError', () => {});
  return `https://${host}:${await listening(server)}`;
}

/** A server that resets every connection it accepts. */
async function resetting(): Promise<string> {
  const server = createTcpServer((socket) => socket.resetAndDestroy());
  return `http://127.0.0.1:${await listening(server)}`;
}

/** An empty HTTP/2 SETTINGS frame (RFC 9113 6.5: length 0, type 4, flags 0, stream 0). */
const SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

async function http2Only(): Promise<string> {
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.write(SETTINGS_FRAME);
    socket.once('data', () => socket.end());
  });
  return `http://127.0.0.1:${await listening(server)}`;
}

/** Squid's answer without credentials: 407, Proxy-Authenticate, an HTML page. */
async function proxyAsking(): Promise<string> {
  const server = createHttpServer((_q, s) =>
    s
      .writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"', 'content-type': 'text/html' })
      .end('<html><body>Cache Access Denied</body></html>'),
  );
  return `http://127.0.0.1:${await listening(server)}`;
}

/** A TLS server with the fixture certificate that never gets as far as a request. */
async function tlsServer(): Promise<string> {
  const server = tls.createServer(
    { key: fixture('server.key'), cert: fixture('other-name.pem') },
    () => {},
  );
  // A plain-HTTP request is the client's error, not the server's.
  server.on('tlsClientError', () => {});
  return `http://127.0.0.1:${await listening(server)}`;
}

/** A TLS alert record: level fatal (2), protocol_version (70), in a TLS 1.0 record header. */
const TLS_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);

/** A port that answers anything it is sent with `answer`, then closes. */
async function answering(answer: Buffer | string): Promise<string> {
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(answer));
  });
  return `http://127.0.0.1:${await listening(server)}`;
}

/**
 * A server that answers its first connection with `json` (HTTP 200, then closes it), and resets
 * every connection after: one that answered, then went away (a restart). `connections` counts them.
 */
export async function answeringOnce(
  json: string,
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    if (connections++ > 0) return socket.resetAndDestroy();
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n`;
    socket.once('data', () => socket.end(head + json));
  });
  const url = `http://127.0.0.1:${await listening(server)}`;
  return { url, connections: () => connections };
}

export type Breakage =
  | 'wrongName'
  | 'nameInCnOnly'
  | 'expired'
  | 'unknownChain'
  | 'reset'
  | 'closed'
  | 'unknownHost'
  | 'proxyAuth'
  | 'notHttp1'
  | 'tlsPort'
  | 'tlsAlert'
  | 'httpsPage';

/** The URL of an endpoint broken as `kind` says, open until the test ends. */
export async function brokenEndpoint(kind: Breakage): Promise<string> {
  switch (kind) {
    case 'wrongName':
    case 'unknownChain':
      return httpsWith('other-name.pem');
    case 'nameInCnOnly':
      return httpsWith('cn-only.pem');
    case 'expired':
      return httpsWith('expired.pem');
    case 'reset':
      return resetting();
    case 'closed':
      // Port 1 (tcpmux), as other tests use: below the ephemeral range, so no server of a run
      // beside this one is given it. A port freed by freePort was, on a busy machine: the
      // "closed" endpoint then answered as another run's control plane (UNAUTHENTICATED).
      return 'http://127.0.0.1:1';
    case 'unknownHost':
      return 'http://poolsync-test.invalid:8080';
    case 'proxyAuth':
      return proxyAsking();
    case 'notHttp1':
      return http2Only();
    case 'tlsPort':
      return tlsServer();
    case 'tlsAlert':
      return answering(TLS_ALERT);
    case 'httpsPage':
      return answering(
        'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n',
      );
  }
}
