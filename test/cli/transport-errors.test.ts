/**
 * Issue 78, item 1: every command that reaches a server, against every way a server cannot be
 * reached (a certificate for another name, an unknown authority, an expired one, a closed port,
 * a reset, an unknown host), says so in one line naming the cause and what to do: never
 * silent, never a stack. In process (src/cli/run.ts's main); test/cli/unsettled.test.ts runs the
 * process, whose silent exit 13 only a process shows.
 */
import { describe, expect, it } from 'vitest';
import {
  brokenEndpoint,
  httpsWith,
  trustTestCa,
  type Breakage,
} from '../support/broken-endpoints.js';
import { runInProcess, type CliResult } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';

const REPO = 'examples/config-repo';

function poolsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runInProcess(args, {
    ...env,
    PATH: process.env.PATH,
    HOME: tempFolder('poolsync-home-'),
    NO_COLOR: '1',
    // sync asks with the admin token; it never gets as far as sending it.
    POOLSYNC_ADMIN_TOKEN: 'test-admin-token-not-sent',
  });
}

/** Each command, reaching `url` (a control plane, or the daemon for status and sync). */
const COMMANDS: Record<string, (url: string) => string[]> = {
  plan: (url) => ['plan', REPO, '--control-plane', url],
  // Its lock in the test's folder, not the checkout's .poolsync/.
  apply: (url) => [
    'apply',
    REPO,
    '--auto-approve',
    '--control-plane',
    url,
    '--state-dir',
    tempFolder('poolsync-state-'),
  ],
  'state list': (url) => ['state', 'list', REPO, '--control-plane', url],
  export: (url) => ['export', '--dir', tempFolder('poolsync-export-'), '--control-plane', url],
  check: (url) => ['check', REPO, '--control-plane', url],
  status: (url) => ['status', '--daemon', url],
  sync: (url) => ['sync', '--daemon', url],
  daemon: (url) => [
    'daemon',
    '--once',
    '--watch',
    REPO,
    '--control-plane',
    url,
    '--state-dir',
    tempFolder('poolsync-state-'),
    '--listen',
    '127.0.0.1:0',
    '--log-level',
    'error',
  ],
};

/** An HTTPS port given as http:// (its own tests below). */
const HTTPS_PORTS = ['tlsPort', 'tlsAlert', 'httpsPage'] as const;

/** What each failure must name, and the start of what to do about it. */
const SAYS: Record<
  Exclude<Breakage, (typeof HTTPS_PORTS)[number]>,
  { cause: RegExp; todo: RegExp }
> = {
  wrongName: {
    cause:
      /the TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not for 127\.0\.0\.1 \(it names DNS:other\.example\)/,
    todo: /use the host name the certificate is for in --(control-plane|daemon)/,
  },
  nameInCnOnly: {
    cause:
      /the TLS certificate of https:\/\/127\.0\.0\.1:\d+ names 127\.0\.0\.1 only in its subject CN, which Node \(as browsers\) does not read for an IP address: it must be in subjectAltName/,
    todo: /reissue the certificate with its name in subjectAltName \(IP:127\.0\.0\.1;/,
  },
  unknownChain: {
    cause: /is not signed by an authority this machine trusts/,
    todo: /NODE_EXTRA_CA_CERTS/,
  },
  expired: {
    cause: /the TLS certificate of https:\/\/127\.0\.0\.1:\d+ has expired/,
    todo: /renew/,
  },
  closed: {
    cause: /nothing accepts connections at http:\/\/127\.0\.0\.1:\d+/,
    todo: /is it running, and is --(control-plane|daemon)/,
  },
  // The machine's DNS server is asked: one that does not answer within the connect timeout
  // (seen here with 8 lookups at once: 15-26 s each) is that limit's line, naming the network.
  unknownHost: {
    cause:
      /the host poolsync-test\.invalid is not known \(DNS\)|poolsync-test\.invalid:8080.*(looking up poolsync-test\.invalid|: no connection within \d)/,
    todo: /is the host name in --(control-plane|daemon)|check the address and the network/,
  },
  proxyAuth: {
    cause: /a proxy between asks for credentials \(HTTP 407 Proxy Authentication Required\)/,
    todo: /let this machine reach the server directly/,
  },
  // A connection closed before any answer by a server that never answered, the daemon's client
  // too; a control plane's said after 2 retries (util/reach.ts Reach.failureOf).
  reset: {
    cause:
      /http:\/\/127\.0\.0\.1:\d+ closed the connection before any answer, .*\(ECONNRESET(, \d attempts?)?\)/,
    todo: /try again|a proxy or firewall/,
  },
  notHttp1: {
    cause:
      /http:\/\/127\.0\.0\.1:\d+ answered in another protocol than HTTP\/1\.1 \(as an HTTP\/2-only or gRPC port does\)/,
    todo: /give (the server's HTTP\/1\.1|flyteadmin's HTTP) port in --(control-plane|daemon)/,
  },
};

/** The lines a person reads: stderr, and for the daemon its log records' messages. */
function linesOf(command: string, r: CliResult): string[] {
  // check's list of checks is its output; the daemon's failures are its log records.
  const out = command === 'check' ? r.stdout : command === 'daemon' ? messagesOf(r.stdout) : '';
  const text = `${r.stderr}${out}`;
  // Retries that outlast a few seconds are said first (test/cli/waiting-notice.test.ts).
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Waiting for '));
}

function messagesOf(logs: string): string {
  return logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const record = JSON.parse(l) as { level: number; msg: string; err?: { message?: string } };
      return record.level >= 50 ? `${record.msg} ${record.err?.message ?? ''}\n` : '';
    })
    .join('');
}

function expectSaid(command: string, kind: keyof typeof SAYS, r: CliResult): void {
  const lines = linesOf(command, r);
  const context = `${command} against ${kind}:\n${r.stderr}${r.stdout}`;
  expect(r.code, context).toBe(1);
  expect(lines.length, context).toBeGreaterThan(0);
  // One line holds both the cause and what to do.
  const said = lines.find((l) => SAYS[kind].cause.test(l));
  expect(said, context).toBeDefined();
  expect(said, context).toMatch(SAYS[kind].todo);
  // Never a stack trace, never "please report it".
  expect(`${r.stderr}${r.stdout}`, context).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$|Internal error/m);
  // A command that is not a list of checks says it once, on one line.
  if (command !== 'check' && command !== 'daemon') expect(lines, context).toHaveLength(1);
}

const TRUSTING: readonly Breakage[] = ['wrongName', 'nameInCnOnly', 'expired'];

describe('every command says why it reached no server, in one line (issue 78)', () => {
  for (const kind of Object.keys(SAYS) as (keyof typeof SAYS)[])
    for (const [command, args] of Object.entries(COMMANDS))
      it(`${command}: ${kind}`, async (t) => {
        if (TRUSTING.includes(kind) && !trustTestCa())
          return t.skip('this Node cannot trust a test CA (tls.setDefaultCACertificates)');
        expectSaid(command, kind, await poolsync(args(await brokenEndpoint(kind))));
      });
});

describe('a name in the subject CN alone', () => {
  it('is said not to count beside subjectAltName DNS names, and what to reissue', async (t) => {
    if (!trustTestCa())
      return t.skip('this Node cannot trust a test CA (tls.setDefaultCACertificates)');
    const url = await httpsWith('cn-beside-altname.pem', 'localhost');
    const r = await poolsync(['plan', REPO, '--control-plane', url]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /the TLS certificate of https:\/\/localhost:\d+ names localhost only in its subject CN, which Node \(as browsers\) does not read when the certificate has subjectAltName names \(DNS:other\.example\) \(ERR_TLS_CERT_ALTNAME_INVALID.*\); reissue the certificate with its name in subjectAltName \(DNS:localhost; openssl: -addext subjectAltName=DNS:localhost\)\n$/,
    );
  });
});

/** The other commands that reach a server, against the failures of the issue's "done when". */
const MORE: Record<string, (url: string) => string[]> = {
  history: (url) => ['history', '--daemon', url],
  approve: (url) => ['approve', '--daemon', url],
  suspend: (url) => ['suspend', '--daemon', url],
  resume: (url) => ['resume', '--daemon', url],
  import: (url) => ['import', 'Queue/default', '--dir', REPO, '--control-plane', url],
  'state show': (url) => ['state', 'show', 'Queue/default', REPO, '--control-plane', url],
  'state forget': (url) => [
    'state',
    'forget',
    'Queue/default',
    REPO,
    '--control-plane',
    url,
    '--state-dir',
    tempFolder('poolsync-state-'),
  ],
};

describe('so do the other commands that reach a server', () => {
  for (const kind of ['wrongName', 'closed', 'unknownHost'] as const)
    for (const [command, args] of Object.entries(MORE))
      it(`${command}: ${kind}`, async (t) => {
        if (kind === 'wrongName' && !trustTestCa())
          return t.skip('this Node cannot trust a test CA (tls.setDefaultCACertificates)');
        expectSaid(command, kind, await poolsync(args(await brokenEndpoint(kind))));
      });
});

describe("every backend's URL says it the same way (plan)", () => {
  for (const kind of ['wrongName', 'closed', 'unknownHost', 'notHttp1'] as const)
    for (const scheme of ['union+', 'flyteadmin+'])
      it(`${scheme}: ${kind}`, async (t) => {
        if (kind === 'wrongName' && !trustTestCa())
          return t.skip('this Node cannot trust a test CA (tls.setDefaultCACertificates)');
        // Union takes plain HTTP from a loopback test server only.
        const broken = await brokenEndpoint(kind);
        const url = kind === 'unknownHost' ? broken.replace(/^http:/, 'https:') : broken;
        // Union's API key names its endpoint (host:port:client_id:client_secret:org).
        const key = `${new URL(url).host}:poolsync-ci:not-a-secret:acme`;
        const env = { POOLSYNC_UNION_API_KEY: Buffer.from(key).toString('base64') };
        const r = await poolsync(COMMANDS.plan!(`${scheme}${url}`), env);
        expectSaid('plan', kind, r);
        // flyteadmin's gRPC port is the likely one given: its HTTP port is named.
        if (kind === 'notHttp1' && scheme === 'flyteadmin+')
          expect(r.stderr).toMatch(
            /give flyteadmin's HTTP port in --control-plane \(server\.httpPort, 8088 by default\), not its gRPC port/,
          );
      });
});

it("flyteadmin with client credentials: an HTTP/2-only port is said by its OAuth2 discovery, naming flyteadmin's HTTP port", async () => {
  const url = `flyteadmin+${await brokenEndpoint('notHttp1')}`;
  const env = {
    POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
    POOLSYNC_FLYTE_CLIENT_SECRET: 'not-sent-9c1',
  };
  const r = await poolsync(COMMANDS.plan!(url), env);
  expectSaid('plan', 'notHttp1', r);
  expect(r.stderr).toMatch(/8088 by default/);
  expect(r.stderr).not.toMatch(/is authentication enabled|fallback/);
});

/**
 * An HTTPS port given as http://: closed at once on every try (node:tls), a TLS alert, or Go's
 * 400 page. Said within the retries a failure to connect gets before any answer (util/reach.ts:
 * 2, not --max-retries' 8, which took ~15 s and printed "Waiting for …: no answer" of a server
 * that had answered by closing), naming the URL and https://; with flyteadmin's client
 * credentials, by its OAuth2 discovery, without a hint about authentication.
 */
describe('an HTTPS port given as http:// (plan)', () => {
  const ATTEMPTS = { tlsPort: 3, tlsAlert: 1, httpsPage: 1 };
  const CAUSE = {
    tlsPort: 'closed the connection before any answer, as an HTTPS (TLS) port does to plain HTTP',
    tlsAlert: 'answered as an HTTPS (TLS) port answers plain HTTP',
    httpsPage: 'answered as an HTTPS (TLS) port answers plain HTTP',
  };
  const unionKey = (url: string) =>
    Buffer.from(`${new URL(url).host}:poolsync-ci:not-a-secret:acme`).toString('base64');
  const BACKENDS: [string, (url: string) => NodeJS.ProcessEnv][] = [
    ['', () => ({})],
    ['flyteadmin+', () => ({})],
    [
      'flyteadmin+ with client credentials',
      () => ({
        POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
        POOLSYNC_FLYTE_CLIENT_SECRET: 'not-sent-9c1',
      }),
    ],
    ['union+', (url) => ({ POOLSYNC_UNION_API_KEY: unionKey(url) })],
  ];
  for (const kind of HTTPS_PORTS)
    for (const [backend, env] of BACKENDS)
      it(`${backend || 'REST'}: ${kind}`, async () => {
        const url = await brokenEndpoint(kind);
        const scheme = backend.split(' ')[0]!;
        const r = await poolsync(COMMANDS.plan!(`${scheme}${url}`), env(url));
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        expect(lines, r.stderr).toHaveLength(1);
        const n = ATTEMPTS[kind];
        expect(lines[0]).toContain(`${url} ${CAUSE[kind]}`);
        expect(lines[0]).toMatch(
          new RegExp(`\\([^,]+, ${n} attempts?\\); .*use https:// in --control-plane`),
        );
        expect(lines[0]).not.toMatch(/is authentication enabled|fallback| 1 attempts/);
      });
});

// Not a closed port: the forges retry it 4 times with their backoff (~12 s).
it("plan --comment: the forge's API (--api-url) says a certificate for another name too", async (t) => {
  if (!trustTestCa())
    return t.skip('this Node cannot trust a test CA (tls.setDefaultCACertificates)');
  const api = `${await brokenEndpoint('wrongName')}/api/v3`;
  const cp = `file:${tempFolder('poolsync-cp-')}/cp.json`;
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const args = ['plan', REPO, '--control-plane', cp, '--comment', 'github', '--pr', '1'];
  const r = await poolsync([...args, '--repo', 'o/r', '--api-url', api, '--commit', commit], {
    GITHUB_TOKEN: 'test-token-not-sent',
  });
  const said = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  expect(said, r.stderr).toHaveLength(1);
  expect(said[0]).toMatch(SAYS.wrongName.cause);
  expect(said[0]).toMatch(/use the host name the certificate is for in --api-url/);
});

describe('behind a proxy poolsync does not use (HTTPS_PROXY)', () => {
  for (const command of ['plan', 'status', 'daemon'])
    it(`${command} says the variable is set and poolsync connects directly`, async () => {
      const url = await brokenEndpoint('unknownHost');
      const r = await poolsync(COMMANDS[command]!(url), { HTTPS_PROXY: 'http://proxy.test:3128' });
      expectSaid(command, 'unknownHost', r);
      expect(linesOf(command, r).join('\n')).toMatch(
        /\(HTTPS_PROXY is set, but poolsync does not go through a proxy: it connects directly/,
      );
    });
});
