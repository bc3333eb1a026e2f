/** The DefaultQueue kind (Union v2 project/domain → default queue): schema, V12, DesiredState. */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import type { ValidationError } from '../../src/manifests/types.js';
import { CLUSTER, QUEUE, writeRepo } from './helpers.js';

const DQ = (name: string, project: string, domain: string, queue: string, extra = '') =>
  `apiVersion: poolsync/v1
kind: DefaultQueue
metadata:
  name: ${name}
spec:
  project: ${project}
  domain: ${domain}
  queue: ${queue}
${extra}`;

describe('DefaultQueue manifests', () => {
  it('loads into the DesiredState, sorted by project/domain, counting the documents', async () => {
    const repo = await writeRepo({
      'q.yaml': QUEUE('gpu-batch'),
      'c.yaml': CLUSTER('prod-1'),
      'dq.yaml': [
        DQ('ml-prod', 'ml', 'production', 'gpu-batch'),
        DQ('ml-dev', 'ml', 'development', 'prod-1'),
        DQ('etl-dev', 'etl', 'development', 'default'),
      ].join('---\n'),
    });
    const r = await loadRepository(repo);
    expect(r.errors).toEqual([]);
    if (!r.valid) throw new Error('invalid');
    expect(r.desired.default_queues?.map((d) => [d.project, d.domain, d.queue, d.name])).toEqual([
      ['etl', 'development', 'default', 'etl-dev'],
      ['ml', 'development', 'prod-1', 'ml-dev'],
      ['ml', 'production', 'gpu-batch', 'ml-prod'],
    ]);
    expect(r.desired.default_queues?.[2]?.source).toEqual({ file: 'dq.yaml', line: 1, column: 1 });
    expect(r.counts.default_queues).toBe(3);
  });

  it('V12: an undeclared queue is an error at spec.queue with a suggestion', async () => {
    const repo = await writeRepo({
      'q.yaml': QUEUE('gpu-batch'),
      'dq.yaml': DQ('ml-prod', 'ml', 'production', 'gpu-btach'),
    });
    const r = await loadRepository(repo);
    expect(r.valid).toBe(false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'V12',
      file: 'dq.yaml',
      line: 8,
      column: 10,
      address: 'DefaultQueue/ml/production',
    });
    expect(r.errors[0]!.message).toContain(`queue 'gpu-btach' is not declared`);
    expect(r.errors[0]!.message).toContain(`did you mean 'gpu-batch'`);
  });

  it('V12: two settings for one project/domain are both reported, each naming the other', async () => {
    const repo = await writeRepo({
      'a.yaml': DQ('one', 'ml', 'production', 'default'),
      'b.yaml': DQ('two', 'ml', 'production', 'default'),
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.file, e.address])).toEqual([
      ['V12', 'a.yaml', 'DefaultQueue/ml/production'],
      ['V12', 'b.yaml', 'DefaultQueue/ml/production'],
    ]);
    // Each names the other where that one's error is (its spec), not at the document's start.
    const [a, b] = r.errors as [ValidationError, ValidationError];
    expect(a.message).toContain(`at b.yaml:${b.line}:${b.column};`);
    expect(b.message).toContain(`at a.yaml:${a.line}:${a.column};`);
    expect(a.line).toBeGreaterThan(1);
  });

  it('schema errors point at the field, with did-you-mean for a misspelt key and kind', async () => {
    const repo = await writeRepo({
      'a.yaml': DQ('one', 'ml', 'production', 'default').replace('queue:', 'queu:'),
      'b.yaml': DQ('two', 'ml', 'dev', 'default').replace(
        'kind: DefaultQueue',
        'kind: DefaultQeue',
      ),
    });
    const r = await loadRepository(repo);
    const [a, b] = r.errors;
    expect(a).toMatchObject({ code: 'SCHEMA', file: 'a.yaml', line: 8, column: 3 });
    expect(a!.message).toContain(`did you mean 'queue'`);
    expect(b).toMatchObject({ code: 'SCHEMA', file: 'b.yaml', line: 2, column: 7 });
    expect(b!.message).toContain(`did you mean 'DefaultQueue'`);
  });

  it('a queue whose own document is broken still counts as declared (one error, not two)', async () => {
    const repo = await writeRepo({
      'q.yaml': QUEUE('gpu-batch', '  depth: -1\n'),
      'dq.yaml': DQ('ml-prod', 'ml', 'production', 'gpu-batch'),
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => e.code)).toEqual(['SCHEMA']);
  });
});
