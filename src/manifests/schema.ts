/**
 * JSON Schema validation of single documents (schemas/*.schema.json, draft 2020-12), with
 * ajv errors turned into one-line messages at the position of the offending node.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { NAME_PATTERN } from '../model/common.js';
import { closest, didYouMean } from './suggest.js';
// The schemas precompiled by scripts/build-validators.ts into src/gen/manifests/validators.ts (one validator per SchemaKind):
// loading ajv's compiler and compiling them took every process 150-200 ms at start-up.
import * as generated from '../gen/manifests/validators.js';
import { clip, entry, type Position, type YMapEntry, type YNode } from './yaml.js';

import type { ManifestKind } from '../gen/manifests/kinds.js';
export { MANIFEST_KINDS, type ManifestKind } from '../gen/manifests/kinds.js';
export type SchemaKind = ManifestKind | 'RepoConfig';

export interface SchemaIssue {
  message: string;
  pos: Position;
  /**
   * JSON pointer of the field at fault (the missing or unknown one itself), so the loader keeps
   * an invalid document's well-formed fields (documents.ts, partial manifests).
   */
  path: string;
}

/** A standalone ajv validator: `errors` holds the last call's failures. */
interface Validator {
  (data: unknown, options: typeof CALL_OPTIONS): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * What every call passes: a standalone validator called without it makes its two default objects
 * (the options and `dynamicAnchors`) per call, 13 of the 150 MB a 100,000-object load's parse
 * allocated. No schema has a `$dynamicAnchor`: the object stays empty.
 */
const CALL_OPTIONS = { dynamicAnchors: {} };

// A plain object, not the module namespace: a keyed lookup in a namespace object takes a slow
// path (5 million calls through each: 360 -> 100 ms; one per document).
const VALIDATORS: Record<SchemaKind, Validator> = { ...generated };

/** Schema errors described per document; the rest are counted in one more. */
const MAX_ISSUES = 100;

/** True when `value` passes its kind's schema (the plain-value load: its errors come from a re-read). */
export function schemaAccepts(kind: SchemaKind, value: unknown): boolean {
  return VALIDATORS[kind](value, CALL_OPTIONS);
}

/** One document's plain value against its kind's schema; `root` gives positions. */
export function validateAgainstSchema(
  kind: SchemaKind,
  value: unknown,
  root: YNode,
): SchemaIssue[] {
  const validate = VALIDATORS[kind];
  if (validate(value, CALL_OPTIONS)) return [];
  const all = validate.errors ?? [];
  // Thousands of unknown fields are one mistake repeated: describe the first few, count the rest.
  const errors = all.length > MAX_ISSUES ? all.slice(0, MAX_ISSUES) : all;
  // A misspelt field is reported once, as unknown with its suggestion, not also as missing.
  const misspelt = new Set<string>();
  for (const err of errors) {
    if (err.keyword !== 'additionalProperties') continue;
    const hit = closest(...unknownField(err));
    if (hit !== null) misspelt.add(`${err.instancePath}/${hit}`);
  }
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  // A value one of several shapes may take (oneOf: poolsync.yaml `approvers:`): the errors of its
  // own shape speak; a wrong shape is one error saying the shapes, not one per branch.
  const oneOf = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const deeper = (at: string) =>
    errors.some(
      (e) => e.keyword !== 'oneOf' && e.keyword !== 'type' && e.instancePath.startsWith(at),
    );
  for (const err of errors) {
    if (err.keyword === 'required' && misspelt.has(faultPath(err))) continue;
    if (oneOf.has(err.instancePath)) {
      if (err.keyword === 'type') continue;
      if (err.keyword === 'oneOf' && deeper(err.instancePath)) continue;
    }
    const described = describe(err, root);
    if (!described) continue;
    const issue: SchemaIssue = { ...described, path: faultPath(err) };
    const id = `${issue.pos.line}:${issue.pos.column}:${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  if (all.length > MAX_ISSUES) {
    issues.push({
      message: `${(all.length - MAX_ISSUES).toLocaleString('en-US')} more schema errors in this document not described (the first ${MAX_ISSUES} are)`,
      pos: root.pos,
      path: '',
    });
  }
  return issues;
}

/** An additionalProperties error's unknown field, and the fields its mapping has. */
function unknownField(err: ErrorObject): [field: string, known: string[]] {
  const { properties } = (err.parentSchema ?? {}) as { properties?: object };
  return [
    String((err.params as Record<string, unknown>)['additionalProperty']),
    Object.keys(properties ?? {}),
  ];
}

function faultPath(err: ErrorObject): string {
  const params = err.params as Record<string, unknown>;
  // A repeated entry is that entry's fault, not the list's: the rules still check the others.
  if (err.keyword === 'uniqueItems') return `${err.instancePath}/${String(params['j'])}`;
  const child =
    err.keyword === 'required'
      ? params['missingProperty']
      : err.keyword === 'additionalProperties'
        ? params['additionalProperty']
        : undefined;
  if (typeof child !== 'string') return err.instancePath;
  return `${err.instancePath}/${child.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function segments(instancePath: string): string[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `spec.clusters[1]` */
export function fieldPath(path: string[]): string {
  let out = '';
  for (const seg of path)
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? clip(seg) : `.${clip(seg)}`;
  return out === '' ? 'the document' : out;
}

export function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${clip(value)}'`;
  return String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

type Described = Omit<SchemaIssue, 'path'> | null;

/** An ajv error with what its message is made from. */
interface Fault {
  err: ErrorObject;
  params: Record<string, unknown>;
  parent: Record<string, unknown>;
  path: string[];
  /** As messages name it. */
  where: string;
  node: YNode | undefined;
  /** Key of the node in its parent mapping, when it is a mapping value. */
  key: YMapEntry | undefined;
  pos: Position;
}

function describe(err: ErrorObject, root: YNode): Described {
  const path = segments(err.instancePath);
  let node: YNode | undefined = root;
  let key: YMapEntry | undefined;
  for (const seg of path) {
    if (node?.kind === 'map') node = (key = entry(node, seg))?.value;
    else if (node?.kind === 'seq') {
      node = node.items[Number(seg)];
      key = undefined;
    } else node = undefined;
  }
  const f: Fault = {
    err,
    params: err.params as Record<string, unknown>,
    parent: (err.parentSchema ?? {}) as Record<string, unknown>,
    path,
    where: fieldPath(path),
    node,
    key,
    pos: node?.pos ?? key?.keyPos ?? root.pos,
  };
  if (err.propertyName !== undefined && err.keyword !== 'propertyNames') return describeKey(f);
  const byKeyword = Object.hasOwn(BY_KEYWORD, err.keyword) ? BY_KEYWORD[err.keyword] : undefined;
  return (byKeyword ?? otherKeyword)(f);
}

/** A key of the mapping is at fault (propertyNames), not a value. */
function describeKey({ err, params, where, node, pos }: Fault): Described {
  const propertyName = err.propertyName!;
  const at = entry(node, propertyName);
  const name = show(propertyName);
  const limit = String(params['limit']);
  const why =
    err.keyword === 'minLength'
      ? 'must not be empty'
      : err.keyword === 'maxLength'
        ? `must be at most ${limit} characters`
        : err.keyword === 'pattern'
          ? patternMessage(String(params['pattern']), propertyName).replace(`${name} `, '')
          : (err.message ?? 'is invalid');
  return { message: `key ${name} in ${where} ${why}`, pos: at?.keyPos ?? pos };
}

function otherKeyword({ err, where, pos }: Fault): Described {
  return { message: `${where} ${err.message ?? 'is invalid'}`, pos };
}

/** A keyword with a `limit` (minLength, maximum…): `why` says it from the limit and the value. */
const beyondLimit =
  (why: (limit: string, got: string) => string) =>
  ({ err, params, where, pos }: Fault): Described => ({
    message: `${where} ${why(String(params['limit']), show(err.data))}`,
    pos,
  });

const BY_KEYWORD: Record<string, (f: Fault) => Described> = {
  oneOf: ({ err, parent, where, pos }) => ({
    message: `${where} is ${show(err.data)}: expected ${String(parent['description'] ?? 'one of its shapes').replace(/^A /, 'a ')}`,
    pos,
  }),
  additionalProperties: ({ err, path, where, node, pos }) => {
    const [field, known] = unknownField(err);
    const at = entry(node, field);
    const inside = path.length === 0 ? '' : ` in ${where}`;
    // Annotations are free-form but for poolsync/ keys, which must be poolsync's own.
    const what = path.at(-1) === 'annotations' ? 'poolsync annotation' : 'field';
    const hint = didYouMean(field, known) || ` (known ${what}s: ${known.join(', ')})`;
    return { message: `unknown ${what} ${show(field)}${inside}${hint}`, pos: at?.keyPos ?? pos };
  },
  required: ({ params, path, where, key, pos }) => {
    const field = String(params['missingProperty']);
    const inside = path.length === 0 ? '' : ` in ${where}`;
    // The value is missing: point at the key that holds the incomplete mapping.
    return { message: `missing required field '${field}'${inside}`, pos: key?.keyPos ?? pos };
  },
  type: ({ err, params, where, pos }) => {
    const expected = String(params['type'])
      .split(',')
      .map((t) => TYPE_NAMES[t] ?? t)
      .join(' or ');
    const quote =
      params['type'] === 'string' && (typeof err.data === 'boolean' || typeof err.data === 'number')
        ? ` (quote it: "${String(err.data)}")`
        : params['type'] === 'boolean' &&
            typeof err.data === 'string' &&
            /^(y|yes|n|no|on|off)$/i.test(err.data)
          ? ' (YAML 1.2 reads only true and false as booleans)'
          : '';
    if (
      params['type'] === 'boolean' &&
      typeof err.data === 'string' &&
      /^(true|false)$/i.test(err.data)
    )
      return {
        message: `${where} must be ${expected}, got the string "${err.data}": remove the quotes`,
        pos,
      };
    return { message: `${where} must be ${expected}, got ${show(err.data)}${quote}`, pos };
  },
  enum: ({ err, params, where, pos }) => {
    // Values YAML would not read as strings are shown quoted, as they must be written.
    const allowed = (params['allowedValues'] as unknown[]).map((v) =>
      typeof v === 'string' && /^(true|false|null|~|[-+.\d].*)$/i.test(v)
        ? JSON.stringify(v)
        : String(v),
    );
    const values = (params['allowedValues'] as unknown[]).map(String);
    const hint =
      typeof err.data === 'string'
        ? didYouMean(err.data, values)
        : values.includes(String(err.data))
          ? ` (quote it: "${String(err.data)}")`
          : '';
    return {
      message: `${where} must be one of ${allowed.join(', ')}; got ${show(err.data)}${hint}`,
      pos,
    };
  },
  const: ({ err, params, where, pos }) => {
    const allowed = String(params['allowedValue']);
    return { message: `${where} must be '${allowed}', got ${show(err.data)}`, pos };
  },
  pattern: ({ err, params, path, where, pos, parent }) => ({
    message: `${where} ${patternMessage(String(params['pattern']), err.data, path.at(-1), parent['description'])}`,
    pos,
  }),
  minLength: beyondLimit((limit) =>
    limit === '1' ? 'must not be empty' : `must be at least ${limit} characters`,
  ),
  // A name's length is N1's, as its characters are (a project or domain id is not a name).
  maxLength: ({ params, path, parent, where, pos }) => ({
    message: `${where} must be at most ${String(params['limit'])} characters${parent['pattern'] === NAME_PATTERN.source && !ID_FIELDS.has(path.at(-1)) ? ' (N1)' : ''}`,
    pos,
  }),
  minimum: beyondLimit((limit, got) => `must be ${limit} or more, got ${got}`),
  maximum: beyondLimit((limit, got) => `must be at most ${limit}, got ${got}`),
  minItems: beyondLimit((limit) =>
    limit === '1' ? 'must list at least one item' : `must list at least ${limit} items`,
  ),
  maxItems: beyondLimit((limit) => `must list at most ${limit} items`),
  minProperties: beyondLimit((limit) =>
    limit === '1' ? 'must name at least one key' : `must name at least ${limit} keys`,
  ),
  dependentRequired: ({ params, where, pos }) => ({
    message: `${where} has '${String(params['property'])}' without '${String(params['missingProperty'])}': add '${String(params['missingProperty'])}', or leave out '${String(params['property'])}'`,
    pos,
  }),
  uniqueItems: ({ err, params, where, node, pos }) => {
    const j = Number(params['j']);
    const dup = node?.kind === 'seq' ? node.items[j] : undefined;
    const item = Array.isArray(err.data) ? err.data[j] : undefined;
    return {
      message: `${where} lists ${show(item)} twice (items ${String(params['i'])} and ${j})`,
      pos: dup?.pos ?? pos,
    };
  },
  propertyNames: () => null, // reported by the nested keyword with the offending name
  if: () => null, // reported by the keyword of the branch that failed (then / else)
  maxProperties: (f) =>
    f.params['limit'] === 0
      ? {
          message: `${f.where} must be {}${typeof f.parent['description'] === 'string' ? `: ${f.parent['description']}` : ''}`,
          pos: f.pos,
        }
      : otherKeyword(f),
};

/** Fields that hold a Flyte project or domain id, not a poolsync name. */
const ID_FIELDS: ReadonlySet<unknown> = new Set(['project', 'domain']);

function patternMessage(
  pattern: string,
  value: unknown,
  field?: string,
  description?: unknown,
): string {
  const got = show(value);
  if (pattern === NAME_PATTERN.source && ID_FIELDS.has(field))
    return `${got} is not a valid ${field} id: use lowercase letters, digits and '-', starting and ending with a letter or digit`;
  if (pattern === NAME_PATTERN.source)
    return `${got} is not a valid name (N1): use lowercase letters, digits and '-', starting and ending with a letter or digit`;
  if (pattern.startsWith('^([*]|')) return `${got} is not an environment name or "*"`;
  if (pattern.startsWith('^(team:'))
    return `${got} is not a principal: a user (alice), team:ORG/SLUG (a GitHub team), group:PATH (a GitLab group), token:admin or token:reconcile`;
  if (pattern.includes('\\*|')) return `${got} is not a cluster name or "*" (N1)`;
  if (pattern.startsWith('^(s3|gs'))
    return `${got} is not an object store URI: use s3://, gs://, abfs://, oci:// or file:// (P2)`;
  if (pattern.startsWith('^(https?'))
    return `${got} must be "" (the provider default) or an http(s):// URL`;
  if (pattern.startsWith('^\\+?(\\d+'))
    return `${got} is not a non-negative Kubernetes quantity (8, 0.5, 100m, 512Gi)`;
  if (pattern.startsWith('^(nvidia_gpu|'))
    return `${got} is not an accelerator selector: CLASS/DEVICE[/PARTITION] (nvidia_gpu/nvidia-h100, nvidia_gpu/nvidia-a100/1g.5gb) or nvidia_gpu, CLASS one of nvidia_gpu, google_tpu, amazon_neuron, amd_gpu, habana_gaudi`;
  if (pattern.startsWith('^[A-Za-z0-9_]'))
    return `${got} is not a workflow name: use letters, digits, '_', '.' and '-'`;
  if (pattern.startsWith('^[A-Za-z0-9]('))
    return `${got} is not a valid flyteadmin name: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  if (pattern.startsWith('^(?!/)'))
    return `${got} must be a folder inside the config folder (relative, no '..')`;
  if (pattern.startsWith('^([0-9]+(ms'))
    return `${got} is not a duration; write it like 30s, 1m, 10m or 1h`;
  if (pattern.startsWith('^/')) return `${got} must be an absolute path (from /, no spaces)`;
  if (pattern.startsWith('^https?://')) return `${got} must be an http:// or https:// URL`;
  // Any other pattern: the field's own description says what it takes, never the regex alone.
  return typeof description === 'string'
    ? `${got} is not of the form it takes: ${description}`
    : `${got} must match ${pattern}`;
}
