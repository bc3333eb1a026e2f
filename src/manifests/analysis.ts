import type { DocumentResult } from './documents.js';
import type { YamlIssue } from './yaml.js';

/** Everything the loader learns from one file on its own, before the cross-document rules. */
export interface FileAnalysis {
  issues: YamlIssue[];
  documentCount: number;
  aliasExpansion: number;
  aliasBytes: number;
  documents: DocumentResult[];
}
