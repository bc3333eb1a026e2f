/**
 * A value outside a field's pattern is said in words (what the field takes), never as the regex
 * (`policies.path '../../etc' must match ^(?!/)(?!.*(^|/)\.\.(/|$)).+$` was shown): one value
 * against each pattern of poolsync.yaml and the manifests that had none; so are the list and
 * dependency keywords, never ajv's English ("must NOT have fewer than 1 items").
 */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { writeRepo } from './helpers.js';

const CONFIG = (extra: string) => `apiVersion: poolsync/v1\nkind: RepoConfig\n${extra}\n`;
const DATA_PLANE = (spec: string, name = 'dataplane_1') =>
  `apiVersion: poolsync/v1\nkind: ExecutionCluster\nmetadata:\n  name: ${name}\nspec:\n${spec}\n`;
const AUTH = '  auth:\n    type: file_path\n    tokenPath: /t\n    certPath: /c';

describe('a value outside its pattern', () => {
  it.each([
    [
      'policies.path',
      { 'poolsync.yaml': CONFIG('policies: {path: ../../etc}') },
      /policies\.path '\.\.\/\.\.\/etc' must be a folder inside the config folder \(relative, no '\.\.'\)/,
    ],
    [
      'an environment’s driftInterval',
      {
        'poolsync.yaml': CONFIG(
          "environments: {a: {controlPlane: 'file:a.json', folders: [a], driftInterval: 5 minutes}}",
        ),
        'a/.keep': '',
      },
      /environments\.a\.driftInterval '5 minutes' is not a duration; write it like 30s, 1m, 10m or 1h/,
    ],
    [
      'render’s credentialsSecret (the field’s description)',
      {
        'poolsync.yaml': CONFIG(
          'render: {flyte-core-values: {path: v.yaml, credentialsSecret: Bad_Name}}',
        ),
      },
      /credentialsSecret 'Bad_Name' is not of the form it takes: The Kubernetes Secret holding/,
    ],
    [
      'an execution cluster’s name',
      { 'x.yaml': DATA_PLANE(`  inCluster: true`, '-bad') },
      /'-bad' is not a valid flyteadmin name: use letters, digits/,
    ],
    [
      'an execution cluster’s endpoint',
      { 'x.yaml': DATA_PLANE(`  endpoint: ftp://x\n${AUTH}`) },
      /endpoint 'ftp:\/\/x' must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      'a token path',
      { 'x.yaml': DATA_PLANE(`  endpoint: https://x\n${AUTH.replace('/t', 'relative/t')}`) },
      /tokenPath 'relative\/t' must be an absolute path/,
    ],
    [
      'an environment without folders (minItems)',
      { 'poolsync.yaml': CONFIG("environments: {a: {controlPlane: 'file:a.json', folders: []}}") },
      /environments\.a\.folders must list at least one item/,
    ],
    [
      'a label of no cluster (minItems)',
      {
        'l.yaml':
          'apiVersion: poolsync/v1\nkind: ClusterLabel\nmetadata: {name: l1}\nspec: {clusters: []}\n',
      },
      /spec\.clusters must list at least one item/,
    ],
    [
      'a workflow without its domain (dependentRequired)',
      {
        'e.yaml':
          'apiVersion: poolsync/v1\nkind: ExecutionClusterLabel\nmetadata: {name: e1}\nspec: {project: p, workflow: w, label: x}\n',
      },
      /spec has 'workflow' without 'domain': add 'domain', or leave out 'workflow'/,
    ],
  ])('%s', async (_, files, said) => {
    const result = await loadRepository(await writeRepo(files as Record<string, string>));
    const messages = result.errors.map((e) => e.message);
    expect(messages.join('\n')).toMatch(said);
    expect(messages.join('\n')).not.toMatch(/must match \^|must NOT|must have required/);
  });
});
