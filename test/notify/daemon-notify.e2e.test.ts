/**
 * `poolsync daemon --once` in a child process notifies a Slack-compatible receiver and a JSON
 * webhook on 127.0.0.1 of what it applied, then of a failure; the URLs (read from files)
 * never appear in its output.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { Receiver } from './receiver.js';

let dir: string;
let slack: Receiver;
let hook: Receiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-daemon-notify-'));
  cpSync('examples/config-repo', join(dir, 'pools'), { recursive: true });
  slack = await new Receiver().start('/services/T1/B1/slack-s3cr3t');
  hook = await new Receiver().start('/hooks/poolsync?key=hook-s3cr3t');
  writeFileSync(join(dir, 'slack-url'), `${slack.url}\n`);
  writeFileSync(join(dir, 'hook-url'), hook.url);
});
afterAll(async () => {
  await slack.stop();
  await hook.stop();
  rmSync(dir, { recursive: true, force: true });
});

function daemonOnce() {
  return runCli(
    [
      'daemon',
      '--once',
      '--watch',
      join(dir, 'pools'),
      '--control-plane',
      `file:${join(dir, 'cp.json')}`,
      '--policy',
      'all',
      '--listen',
      '127.0.0.1:0',
      '--log-format',
      'json',
      '--notify-slack-url-file',
      join(dir, 'slack-url'),
    ],
    {
      POOLSYNC_STATE_DIR: join(dir, 'state'),
      POOLSYNC_NOTIFY_WEBHOOK_URL_FILE: join(dir, 'hook-url'),
    },
  );
}

describe('daemon notifications (CLI)', () => {
  it('notifies applied, then failed, to Slack and the JSON webhook', async () => {
    const first = await daemonOnce();
    expect(first.code, first.stderr).toBe(0);
    expect(slack.received).toHaveLength(1);
    expect(String(slack.received[0]!.body.text)).toMatch(/poolsync applied/);
    expect(hook.received[0]!.body).toMatchObject({ event: 'applied', run: 1 });
    expect((hook.received[0]!.body.applied as { create: number }).create).toBeGreaterThan(0);

    writeFileSync(
      join(dir, 'pools/broken.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: Bad_Name}\nspec: {}\n',
    );
    const second = await daemonOnce();
    expect(second.code).toBe(1);
    expect(hook.received[1]!.body).toMatchObject({ event: 'failed' });
    expect((hook.received[1]!.body.errors as string[])[0]).toMatch(/broken\.yaml:3:\d+/);
    expect(String(slack.received[1]!.body.text)).toMatch(/poolsync failed/);

    const output = first.stdout + first.stderr + second.stdout + second.stderr;
    expect(output).toMatch(/notifications on/);
    expect(output).not.toContain('s3cr3t');
  }, 120_000);
});
