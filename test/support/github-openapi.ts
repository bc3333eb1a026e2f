/**
 * GitHub's REST API as its OpenAPI description documents it (npm @octokit/openapi,
 * api.github.com.json), for checking the local forge (test/support/fake-forge.ts): each answer
 * against the response schema of its operation and status (an error status the operation does
 * not list against GitHub's `basic-error`), each request body against the operation's request
 * body, with Ajv.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { FakeForge, GitHubAnswer, LoggedRequest } from './fake-forge.js';

interface Operation {
  operationId: string;
  requestBody?: { content?: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
}

const SPEC_ID = 'https://poolsync.test/api.github.com.json';
const spec = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json'),
    'utf8',
  ),
) as Spec;
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
// ajv-formats is CommonJS: its function is the default export's `default` under NodeNext types.
(formats as unknown as { default: (a: Ajv) => void }).default(ajv);
ajv.addSchema({ $id: SPEC_ID, components: spec.components });

/** The operations poolsync calls: the templates the forge's paths are matched against. */
const TEMPLATES = [
  '/user',
  '/repos/{owner}/{repo}/issues/{issue_number}/comments',
  '/repos/{owner}/{repo}/issues/comments/{comment_id}',
  '/repos/{owner}/{repo}/statuses/{sha}',
  '/repos/{owner}/{repo}/commits/{ref}/statuses',
  '/repos/{owner}/{repo}/pulls/{pull_number}',
  '/repos/{owner}/{repo}/collaborators/{username}/permission',
  '/orgs/{org}/teams/{team_slug}/memberships/{username}',
];

export function operationOf(a: GitHubAnswer): { template: string; op: Operation } {
  // GitHub's Link headers name /repositories/{id}/…, the same operation under another path.
  const path = a.path.replace(/^\/api\/v3/, '').replace(/^\/repositories\/\d+\//, '/repos/o/r/');
  for (const template of TEMPLATES) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = spec.paths[template]?.[a.method.toLowerCase()];
    if (re.test(path) && op) return { template, op };
  }
  throw new Error(`the forge answered ${a.method} ${a.path}, an operation this test does not know`);
}

const compiled = new Map<string, ValidateFunction>();

/** The validator of the JSON body GitHub documents for `op` answering `status`. */
function validatorOf(op: Operation, status: number): ValidateFunction {
  const key = `${op.operationId} ${status}`;
  let validate = compiled.get(key);
  if (validate) return validate;
  let response = op.responses[String(status)];
  // An error GitHub lists without a body (team membership's 404) answers its basic-error.
  if ((!response || (!response.$ref && !response.content)) && status >= 400)
    response = { $ref: '#/components/responses/basic' };
  if (!response) throw new Error(`GitHub documents no ${status} answer for ${op.operationId}`);
  const named = response.$ref?.replace('#/components/responses/', '');
  const content =
    named === 'basic'
      ? { 'application/json': { schema: { $ref: '#/components/schemas/basic-error' } } }
      : named
        ? spec.components.responses[named]!.content
        : response.content;
  const schema = content?.['application/json']?.schema;
  if (!schema) throw new Error(`${key}: GitHub documents no JSON body`);
  validate = compile(schema);
  compiled.set(key, validate);
  return validate;
}

/** A schema of the description, its references resolved in it. */
function compile(schema: unknown): ValidateFunction {
  return ajv.compile(
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${SPEC_ID}#/components/`)),
  );
}

/**
 * What is wrong with a request the local forge received, against the request body GitHub
 * documents for its operation (a GitHub request: not under /api/v4); [] when nothing is.
 */
export function requestProblems(q: LoggedRequest): string[] {
  const path = new URL(q.url, 'http://forge').pathname;
  if (path.startsWith('/api/v4/')) return [];
  const { op } = operationOf({ method: q.method, path, status: 0, json: null });
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (!schema) return q.body === null ? [] : [`${q.method} ${path}: a body GitHub does not take`];
  let validate = compiled.get(`${op.operationId} request`);
  if (!validate) compiled.set(`${op.operationId} request`, (validate = compile(schema)));
  if (validate(q.body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${q.method} ${path} (${op.operationId} request): ${e.instancePath} ${e.message}`,
  );
}

/** Every GitHub request and answer of `forge` checked against GitHub's description: the problems. */
export function forgeProblems(forge: FakeForge): string[] {
  return [...forge.requests.flatMap(requestProblems), ...forge.githubAnswers.flatMap(problems)];
}

export function problems(a: GitHubAnswer): string[] {
  const { op } = operationOf(a);
  // 204 No Content: GitHub documents no body, and none was sent.
  if (a.status === 204 && op.responses['204'] && !op.responses['204'].content)
    return a.json === null ? [] : [`${a.method} ${a.path} 204 with a body`];
  const validate = validatorOf(op, a.status);
  if (validate(a.json)) return [];
  return (validate.errors ?? []).map(
    (e) => `${a.method} ${a.path} ${a.status} (${op.operationId}): ${e.instancePath} ${e.message}`,
  );
}
