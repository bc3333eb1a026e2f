/** The one URL-credentials check (src/util/url-credentials.ts) shared by Git and control-plane URLs. */
import { describe, expect, it } from 'vitest';
import {
  refuseUrlCredentials,
  unusedUrlPart,
  urlCredentials,
} from '../../src/util/url-credentials.js';

describe('urlCredentials', () => {
  it.each([
    ['https://ghp_TOKEN@github.com/a/b.git', 'user'],
    ['HTTPS://ghp_TOKEN@github.com/a/b.git', 'user'],
    ['http://x-access-token:ghp_TOKEN@github.com/a/b.git', 'password'],
    ['https://:ghp_TOKEN@github.com/a/b.git', 'password'],
    ['https://user%40corp:p%40ss@host/x', 'password'],
    ['https://a@b@host/x', 'user'],
    ['git://TOKEN@host/x.git', 'user'],
    ['ssh://git:secret@host/x.git', 'password'],
    ['https:\\\\TOKEN@host/x', 'user'],
    ['https:/TOKEN@host/x', 'user'],
    ['unionx://TOKEN@cp.example.com', 'user'],
  ])('%s carries credentials (%s)', (url, kind) => {
    expect(urlCredentials(url)).toBe(kind);
  });

  it.each([
    'https://github.com/a/b.git',
    'https://host/path/with@sign',
    'https://host/x?from=a@b#c@d',
    'ssh://git@github.com/a/b.git',
    'git+ssh://git@github.com/a/b.git',
    'git@github.com:a/b.git',
    '/srv/git/config@2024.git',
    'file:.poolsync/control-plane.json',
    'not a url',
  ])('%s carries none', (url) => {
    expect(urlCredentials(url)).toBeNull();
  });

  it('a URL without @ has no user part for the WHATWG parser either, however it is written', () => {
    // urlCredentials returns null for these without parsing them: what it relies on.
    const shapes = [
      'https://',
      'https:',
      'https:/',
      'https:\\\\',
      'unionx://',
      'ftp://',
      'abfs://',
    ];
    const hosts = ['TOKEN:pw', 'user%40host', 'u%3Ap', 'h\tost:1', ' host', 'TOKEN%40h'];
    const tails = ['', '/x', ':443/x', '?q=a', '#f', '\\x'];
    let parsed = 0;
    for (const s of shapes)
      for (const h of hosts)
        for (const t of tails) {
          const url = `${s}${h}${t}`;
          expect(url.includes('@')).toBe(false);
          let u: URL;
          try {
            u = new URL(url);
          } catch {
            continue;
          }
          parsed++;
          expect([url, u.username, u.password]).toEqual([url, '', '']);
          expect(urlCredentials(url)).toBeNull();
        }
    expect(parsed).toBeGreaterThan(50);
  });

  it('the error names what and where the secret belongs, never the URL', () => {
    expect(() =>
      refuseUrlCredentials('https://s3cr3t@h/x', 'the control plane URL', 'use POOLSYNC_TOKEN'),
    ).toThrow(
      /^the control plane URL carries a user part \(TOKEN@\), which git and HTTP clients send as a credential; remove it from the URL and use POOLSYNC_TOKEN\.$/,
    );
  });
});

describe('a query string or fragment poolsync does not use', () => {
  it.each([
    ['https://h/x.git?token=S3CR3T', 'a query string (?…)'],
    ['http://127.0.0.1:8080/?token=S3CR3T', 'a query string (?…)'],
    ['https://h/x#S3CR3T', 'a fragment (#…)'],
    ['union+https://h?protocol=grpc&token=S3CR3T', 'a query parameter other than protocol'],
    [
      'flyteadmin+https://h?org=o&token=S3CR3T',
      'a query parameter other than org, clusters-configmap',
    ],
    ['flyteadmin+http://h?org=a&org=b', 'org= twice (only one is read)'],
  ])('%s is refused (%s)', (url, part) => {
    expect(unusedUrlPart(url)).toBe(part);
  });

  it.each([
    'https://h/x.git',
    'union+https://h?protocol=grpc',
    'flyteadmin+https://h?org=o&clusters-configmap=ns/cm',
    'file:.poolsync/control-plane.json?capabilities=drain',
    'git@github.com:a/b.git',
    '/srv/git/x?.git',
  ])('%s is not', (url) => {
    expect(unusedUrlPart(url)).toBeNull();
  });

  it('the error names the option and shows the URL without its query, never the secret', () => {
    expect(() =>
      refuseUrlCredentials(
        'union+http://h?protocol=grpc&token=S3CR3T',
        '--control-plane',
        'use POOLSYNC_UNION_API_KEY',
      ),
    ).toThrow(
      /^--control-plane union\+http:\/\/h carries a query parameter other than protocol, which poolsync does not use and would print; remove it from the URL \(a secret belongs in a file or variable: use POOLSYNC_UNION_API_KEY\)\.$/,
    );
  });
});
