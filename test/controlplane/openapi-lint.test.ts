/**
 * schemas/control-plane.openapi.yaml under Redocly's recommended rules (redocly.yaml), with
 * @redocly/openapi-core's lint API: offline, the same rules as `redocly lint`. Client
 * generators need an operationId per operation; every refusable operation documents its 4XX.
 * An endpoint added without them fails here.
 */
import { join } from 'node:path';
import { lint, loadConfig } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

describe('control-plane OpenAPI lint', () => {
  it('is clean under the recommended rules, with only the listed exception', async () => {
    const config = await loadConfig({ configPath: join(ROOT, 'redocly.yaml') });
    const problems = await lint({
      ref: join(ROOT, 'schemas/control-plane.openapi.yaml'),
      config,
    });
    const where = (p: (typeof problems)[number]) =>
      `${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`;
    expect(problems.filter((p) => !p.ignored).map(where)).toEqual([]);
    // .redocly.lint-ignore.yaml: GET /healthz is open and takes no input, so it has no 4XX.
    expect(problems.filter((p) => p.ignored).map(where)).toEqual([
      'operation-4xx-response #/paths/~1healthz/get/responses: Operation must have at least one `4XX` response.',
    ]);
  });

  it('catches an operation without operationId or 4XX (the rules are on)', async () => {
    const config = await loadConfig({ configPath: join(ROOT, 'redocly.yaml') });
    const { readFile, writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-oas-'));
    try {
      const text = (await readFile(join(ROOT, 'schemas/control-plane.openapi.yaml'), 'utf8'))
        .replace('      operationId: listPools\n', '')
        .replace("        '4XX': { $ref: '#/components/responses/ClientError' }\n", '');
      await writeFile(join(dir, 'api.yaml'), text);
      const problems = await lint({ ref: join(dir, 'api.yaml'), config });
      expect(problems.map((p) => p.ruleId).sort()).toEqual([
        'operation-4xx-response',
        'operation-4xx-response',
        'operation-operationId',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
