/**
 * One YAML file parsed with positions. The data (`toJS`, merge keys applied) is what the
 * rules read; `lineOf(path)` walks the syntax tree, through aliases and `<<` merge keys,
 * to give the 1-based line where the value at `path` was written.
 */
import { readFileSync } from 'node:fs';
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import { InputError } from './errors.ts';

export type PathSegment = string | number;

export interface YamlSource {
  /** Absolute path on disk. */
  readonly path: string;
  /** Path relative to the directory validation started from, for messages. */
  readonly displayPath: string;
  readonly data: unknown;
  lineOf(path: readonly PathSegment[]): number;
  /** The raw node at `path`, for rules that must see how a value was written (aliases). */
  nodeAt(path: readonly PathSegment[]): unknown;
}

/** Bound on alias expansion, against "billion laughs" inputs. */
const MAX_ALIAS_COUNT = 1000;

export function readYamlSource(path: string, displayPath: string, includedFrom?: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    const where = includedFrom ?? displayPath;
    throw new InputError(where, undefined, `cannot read ${displayPath} (${reason})`);
  }
  return parseYamlSource(text, path, displayPath);
}

export function parseYamlSource(text: string, path: string, displayPath: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    const reason = firstError.message.split('\n')[0] ?? 'not YAML';
    throw new InputError(displayPath, line, `not valid YAML: ${reason}`);
  }
  if (!isMap(doc.contents)) {
    throw new InputError(displayPath, 1, 'a Compose file must be a YAML mapping (services:, include:, ...)');
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw new InputError(displayPath, undefined, `cannot read the YAML: ${(error as Error).message}`);
  }
  const lineAt = (node: Node | null | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const anchors = anchorsOf(doc);
  return {
    path,
    displayPath,
    data,
    lineOf: (segments) => walk(anchors, doc, segments, lineAt).line,
    nodeAt: (segments) => walk(anchors, doc, segments, lineAt).node,
  };
}

interface WalkResult {
  readonly line: number;
  readonly node: unknown;
}

/**
 * Anchor name -> anchored node, collected once: `Alias.resolve` searches the whole
 * document on every call, which made line lookups the slowest part of a run.
 */
function anchorsOf(doc: Document): Map<string, Node> {
  const anchors = new Map<string, Node>();
  visit(doc, (_key, node) => {
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor !== undefined) anchors.set(anchor, node as Node);
  });
  return anchors;
}

function walk(
  anchors: ReadonlyMap<string, Node>,
  doc: Document,
  segments: readonly PathSegment[],
  lineAt: (node: Node | null | undefined) => number | undefined,
): WalkResult {
  let node: unknown = doc.contents;
  let line = lineAt(doc.contents as Node) ?? 1;
  for (const segment of segments) {
    const found = child(anchors, node, segment);
    if (found === undefined) break;
    line = lineAt(found.keyNode) ?? lineAt(found.valueNode as Node | undefined) ?? line;
    node = found.valueNode;
  }
  return { line, node };
}

interface Child {
  readonly keyNode: Node | undefined;
  readonly valueNode: unknown;
}

function child(anchors: ReadonlyMap<string, Node>, node: unknown, segment: PathSegment): Child | undefined {
  const target = isAlias(node) ? anchors.get(node.source) : node;
  if (isSeq(target) && typeof segment === 'number') {
    const item = target.items[segment];
    return item === undefined ? undefined : { keyNode: item as Node, valueNode: item };
  }
  if (!isMap(target)) return undefined;
  for (const pair of target.items) {
    if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(segment)) {
      return { keyNode: pair.key, valueNode: pair.value };
    }
  }
  // Keys written directly win over merged ones, so merges are searched last.
  for (const pair of target.items) {
    if (!isPair(pair) || !isMergeKey(pair.key)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = child(anchors, source, segment);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** With `merge: true` the parser gives `<<` keys a symbol value; the source text says `<<`. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.value === '<<' || key.source === '<<' || typeof key.value === 'symbol');
}
