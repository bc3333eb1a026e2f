/** Input limits of manifests.md ("Limits of input"): hostile input is an error, never a crash. */
export const LIMITS = {
  /** Bytes per file. */
  maxFileBytes: 1024 * 1024,
  /** Non-empty documents per folder. */
  maxDocuments: 50_000,
  /** Nodes that aliases add to one document when expanded (alias bombs). */
  maxAliasExpansion: 10_000,
  /** Nodes that aliases add across the whole folder, so many small bombs cannot add up. */
  maxAliasExpansionTotal: 1_000_000,
  /** Collection nesting; manifests need 4 levels, deep nesting only serves to exhaust the stack. */
  maxDepth: 64,
} as const;
