/**
 * README's Commands table shows no option a command lacks: every `--flag` (and `-e`) of a
 * `poolsync COMMAND …` cell is in that command's --help (a hand test found `plan
 * --policy-approvals`, which only apply has).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ROOT } from './run-doc.js';

/** Each command line of the table's first column, with the options it shows. */
function tableCommands(readme: string): { command: string[]; options: string[] }[] {
  const table = /^## Commands\n\n([\s\S]*?)\n\n/m.exec(readme)![1]!;
  return table
    .split('\n')
    .slice(2)
    .flatMap((row) => {
      const spans = [...row.split(/(?<!\\)\|/)[1]!.matchAll(/`([^`]+)`/g)].map((m) =>
        m[1]!.replaceAll('\\|', '|'),
      );
      // A span of options alone, `(--daemon URL)`, is for every command of its row.
      const shared = spans.filter((s) => s.startsWith('-')).flatMap(optionsOf);
      return spans
        .filter((s) => s.startsWith('poolsync '))
        .flatMap((s) => {
          const [names = '', sub] = s.split(' ').slice(1);
          return names.split('|').map((name) => ({
            command: sub && /^[a-z][a-z-]*$/.test(sub) ? [name, sub] : [name],
            options: [...optionsOf(s), ...shared],
          }));
        });
    });
}

const optionsOf = (text: string) =>
  [...text.matchAll(/(?<![\w-])--?[a-z][a-z-]*/g)].map((m) => m[0]);

it('shows for each command only options its --help lists', async () => {
  const rows = tableCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  expect(rows.length).toBeGreaterThan(20);
  expect(rows.flatMap((r) => r.options).length).toBeGreaterThan(40);
  const missing: string[] = [];
  for (const { command, options } of rows) {
    // `render flyte-core-values`, `state list`: the subcommand's help, else the command's.
    let help = await runCli([...command, '--help']);
    if (help.code !== 0) help = await runCli([command[0]!, '--help']);
    expect(help.code, `${command.join(' ')} --help: ${help.stderr}`).toBe(0);
    for (const option of options)
      if (!new RegExp(`(^|[\\s,])${option}(?![\\w-])`, 'm').test(help.stdout))
        missing.push(`poolsync ${command.join(' ')} ${option}`);
  }
  expect(missing).toEqual([]);
}, 120_000);
