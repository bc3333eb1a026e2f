/**
 * Manifests without their position trees (`root`): parsed again from the file's text only when
 * a rule asks for a position, i.e. has an error to report. A one-shot load drops them once a
 * file is analysed (withPositionsOnDemand), and the disk cache (src/incremental/disk-cache.ts)
 * stores entries without them (they were most of an entry's bytes): ~1 byte of text per byte
 * of YAML is kept instead of ~5 bytes of trees, which at 100,000 objects was most of what a
 * load held live (issue 25). The parsed-again trees belong to the analysis (no state outside
 * it); `onRebuild` tells a caller that counts them (the cache's stats).
 */
import { positionTree } from './documents.js';
import type { InputLimits } from './limits.js';
import { parseYamlFile, type Position, type YMap, type YMapEntry } from './yaml.js';
import type { FileAnalysis } from './analysis-port.js';

/** The analysis with every manifest's `root` left out (null), as a disk entry stores it. */
export function withoutRoots(analysis: FileAnalysis): FileAnalysis {
  return {
    ...analysis,
    documents: analysis.documents.map((d) =>
      d.manifest ? { ...d, manifest: { ...d.manifest, root: null as unknown as YMap } } : d,
    ),
  };
}

/** A file's position trees, parsed again from its text the first time one is asked for. */
class FileRoots {
  private roots: YMap[] | null = null;
  constructor(
    private readonly text: string,
    private readonly limits: Readonly<InputLimits>,
    private readonly onRebuild: (() => void) | undefined,
  ) {}

  /** The i-th analysed document is the i-th document the parser kept (load-files.ts analyseFile). */
  at(i: number): YMap {
    if (this.roots === null) {
      this.onRebuild?.();
      this.roots = parseYamlFile(this.text, this.limits).documents.map((d) =>
        positionTree(d.root as YMap),
      );
    }
    return this.roots[i]!;
  }
}

/**
 * A manifest's `root` that parses its file only when read. A small object of its own rather
 * than a getter defined on each manifest, which made every manifest a ~1 KB dictionary-mode
 * object.
 */
class LazyRoot implements YMap {
  readonly kind = 'map';
  constructor(
    private readonly file: FileRoots,
    private readonly index: number,
  ) {}
  get entries(): YMapEntry[] {
    return this.file.at(this.index).entries;
  }
  get pos(): Position {
    return this.file.at(this.index).pos;
  }
}

/** A fresh analysis made lean: its trees dropped, parsed again from `text` only if asked for. */
export function withPositionsOnDemand(
  analysis: FileAnalysis,
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): FileAnalysis {
  const lean = withoutRoots(analysis);
  const file = new FileRoots(text, limits, onRebuild);
  lean.documents.forEach((d, i) => {
    if (d.manifest) d.manifest.root = new LazyRoot(file, i);
  });
  return lean;
}

/**
 * Roots on demand for the documents of a file analysed from its plain values (analysePlain):
 * the i-th one made is the i-th document the parser kept.
 */
export function rootsOnDemand(
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): (i: number) => YMap {
  const file = new FileRoots(text, limits, onRebuild);
  return (i) => new LazyRoot(file, i);
}
