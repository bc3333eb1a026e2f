/**
 * V16: poolsync.yaml `absent:` lists objects the repository wants deleted (today `Queue/default`,
 * docs/manifests.md); a document declaring one of them contradicts it. Reported at the document.
 */
import type { RepoConfig } from '../model/desired.js';
import type { Grouped } from './rules.js';
import { positionOf } from './document-positions.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';

export function checkAbsent(g: Grouped, config: RepoConfig): ValidationError[] {
  const absent = new Set(config.absent ?? []);
  if (absent.size === 0) return [];
  return g.queues
    .filter((q) => absent.has(q.address ?? `Queue/${q.name}`))
    .map((q) =>
      err(
        'V16',
        q,
        positionOf(q.root, 'metadata', 'name'),
        `Queue/${q.name} is declared here but listed under absent in poolsync.yaml: remove one of the two`,
      ),
    );
}
