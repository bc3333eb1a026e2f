import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/daemon/config-options.js';
import { RUN_PHASES } from '../../src/daemon/run-result.js';

const doc = readFileSync(resolve(__dirname, '../../docs/daemon.md'), 'utf8');

describe('docs/daemon.md', () => {
  it('documents every setting with its flag, environment variable and default', () => {
    for (const o of OPTIONS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`--${o.name}\` |`));
      expect(row, `--${o.name}`).toBeDefined();
      expect(row).toContain(`\`${o.env}\``);
      if (o.default !== undefined) expect(row).toContain(`\`${String(o.default)}\``);
    }
  });

  it('documents every metric the daemon exports', async () => {
    const { DaemonMetrics } = await import('../../src/daemon/metrics.js');
    const m = new DaemonMetrics({ processMetrics: false });
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    for (const name of names) expect(doc, name).toContain(`\`${name}\``);
  });

  it('lists every phase of a run, in order, and its /status example names only those', () => {
    const section = doc.split('### Phases of a run')[1]!.split('\n### ')[0]!;
    const rows = section.split('\n').filter((l) => /^\| `/.test(l));
    const listed = rows.flatMap((l) =>
      [...l.split(' | ')[0]!.matchAll(/`(\w+)`/g)].map((m) => m[1]),
    );
    expect(listed).toEqual([...RUN_PHASES]);
    const example = /"phasesMs": (\{[^}]*\})/.exec(doc.split('"lastRun"')[1]!)![1]!;
    const keys = Object.keys(JSON.parse(example) as object);
    expect(keys.filter((k) => !(RUN_PHASES as readonly string[]).includes(k))).toEqual([]);
    expect(keys).toContain('policies');
  });
});
