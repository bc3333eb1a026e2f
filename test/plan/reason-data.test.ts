/**
 * Reasons whose parameters used to be sentences the planner built are data now (docs/plan.md,
 * One voice): the catalog's words make the same sentences from the numbers and names.
 */
import { describe, expect, it } from 'vitest';
import { reasonOf } from '../../src/plan/reasons.js';
import { reasonText } from '../../src/render/reasons.js';

const PREFIX =
  'the update replaces the whole queue spec, so poolsync reads the queue first and sets only the fields the repository manages: ';

describe('QUEUE_FIELDS_WRITTEN_BACK', () => {
  it('words one field number, and its name', () => {
    const why = reasonOf('QUEUE_FIELDS_WRITTEN_BACK', { numbers: [9], names: ['scheduling'] });
    expect(reasonText(why)).toBe(
      `${PREFIX}spec field 9 (scheduling), which is not declared, is written back unchanged`,
    );
  });

  it('words several, one of them not in poolsync’s definition', () => {
    const why = reasonOf('QUEUE_FIELDS_WRITTEN_BACK', {
      numbers: [8, 12, 99],
      names: ['max_resources', '', ''],
    });
    expect(reasonText(why)).toBe(
      `${PREFIX}spec fields 8, 12 and 99 (max_resources, field 12, not in poolsync's definition, ` +
        `field 99, not in poolsync's definition), which are not declared, are written back unchanged`,
    );
  });
});

describe('LABEL_NOT_DEPLOYED', () => {
  const routing = {
    label: 'gpu',
    source: null,
    running_clusters: ['a'],
    running_weights: [0.7],
    listed: null,
    wanted_clusters: null,
    wanted_weights: null,
    same_clusters: false,
    default_label: null,
    default_clusters: null,
    default_weights: null,
    enabled: ['a', 'b'],
  };

  it('says a label the repository disables every cluster of, and where flyteadmin sends it', () => {
    expect(reasonText(reasonOf('LABEL_NOT_DEPLOYED', { ...routing, file: 'values.yaml' }))).toBe(
      "label 'gpu' routes to a 0.7 in flyteadmin (its configuration), but the repository disables every cluster of it; " +
        'flyteadmin accepts any label and would send these executions to a 0.7, as it runs the label. ' +
        'Deploy values.yaml (helm upgrade restarts flyteadmin with it); the next plan sets this label',
    );
  });

  it('says an unrouted label falls back to no enabled cluster', () => {
    const unrouted = { ...routing, running_clusters: null, running_weights: null, enabled: [] };
    const words = reasonText(
      reasonOf('LABEL_NOT_DEPLOYED', {
        ...unrouted,
        wanted_clusters: ['b'],
        wanted_weights: [1],
        file: 'values.yaml',
      }),
    );
    expect(words).toContain(
      "label 'gpu' is not in the labelClusterMap flyteadmin runs with (its configuration); ",
    );
    expect(words).toContain('every enabled cluster with equal weight (none enabled)');
  });
});

describe('CASCADE_TAKES_ALONG', () => {
  it('words the rows taken along with their values, and those set again after it', () => {
    const why = reasonOf('CASCADE_TAKES_ALONG', {
      path: 'DELETE project_domain_attributes/p/d',
      type: 'EXECUTION_CLUSTER_LABEL',
      scope: 'p/d',
      kind: 'ExecutionClusterLabel',
      takes: ['ExecutionClusterLabel/p/d/wf.a'],
      values: ['gpu'],
      restored: ['ExecutionClusterLabel/p/d/wf.b'],
    });
    expect(reasonText(why)).toBe(
      'DELETE project_domain_attributes/p/d also deletes the narrower EXECUTION_CLUSTER_LABEL rows of p/d: ' +
        'ExecutionClusterLabel/p/d/wf.a (label gpu), ExecutionClusterLabel/p/d/wf.b (set again after it)',
    );
  });
});

describe('POOL_UPDATE_MISMATCH', () => {
  it('words each cluster with its fields and their declared values', () => {
    const why = reasonOf('POOL_UPDATE_MISMATCH', {
      clusters: ['Cluster/a', 'Cluster/b'],
      counts: [2, 1],
      fields: ['object_store_uri', 'image_registry', 'secret_store.type'],
      declared: ['s3://x', 'reg', 'vault'],
    });
    expect(reasonText(why)).toContain(
      'not match it (C4): Cluster/a (object_store_uri "s3://x", image_registry "reg"), ' +
        'Cluster/b (secret_store.type "vault"). Redeploy',
    );
  });
});
