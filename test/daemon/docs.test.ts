import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/daemon/config-options.js';

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
});
