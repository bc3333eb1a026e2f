/** Issue 17's features are in --help, where a user looks for them. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('--help', () => {
  it('names every issue-17 feature', async () => {
    const helps = await Promise.all(
      [
        ['--help'],
        ['plan', '--help'],
        ['apply', '--help'],
        ['import', '--help'],
        ['completion', '--help'],
        ['daemon', '--help'],
      ].map((a) => runCli(a)),
    );
    const [top, plan, apply, imp, completion, daemon] = helps as [
      (typeof helps)[number],
      (typeof helps)[number],
      (typeof helps)[number],
      (typeof helps)[number],
      (typeof helps)[number],
      (typeof helps)[number],
    ];
    expect(top.stdout).toMatch(/poolsync import \[address\.\.\]/);
    expect(top.stdout).toMatch(/poolsync completion <shell>/);
    for (const flag of ['--target', '--replace', '--refresh-only', '--log-format'])
      expect(plan.stdout).toContain(flag);
    for (const flag of ['--target', '--replace']) expect(apply.stdout).toContain(flag);
    expect(imp.stdout).toMatch(/Kind\/name/);
    expect(completion.stdout).toMatch(/choices: "bash", "zsh", "fish"/);
    for (const flag of [
      '--notify-slack-url-file',
      '--notify-webhook-url-file',
      '--notify-on',
      '--notify-max-per-minute',
    ])
      expect(daemon.stdout).toContain(flag);
  }, 60_000);
});
