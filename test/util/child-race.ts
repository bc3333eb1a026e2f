import { spawn } from 'node:child_process';

/**
 * Starts `n` processes running `script` (TypeScript, via tsx) with `args` and, once all have
 * said `ready`, tells them all to `go` at the same moment; resolves to each one's answer line
 * (`won` or `refused: <message>`). Winners hold what they won until the end.
 */
export async function raceChildren(script: string, args: string[], n: number): Promise<string[]> {
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args]);
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    const lineAt = (k: number) =>
      new Promise<string>((resolveLine, reject) => {
        const check = () => (lines.length > k ? resolveLine(lines[k]!) : waiters.push(check));
        child.once('close', () =>
          reject(new Error(`race child ended early: ${lines.join(' | ')}`)),
        );
        check();
      });
    return { child, ready: lineAt(0), answer: lineAt(1) };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.write('go\n');
  const answers = await Promise.all(children.map((c) => c.answer));
  for (const c of children) c.child.stdin.end();
  await Promise.all(children.map((c) => new Promise((r) => c.child.once('close', r))));
  return answers;
}
