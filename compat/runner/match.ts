// Compares what a driver observed with a scenario's expectation. Expectations are JSON patterns:
// objects match by the keys they name, arrays element by element (same length), scalars by equality,
// and objects whose single key starts with `$` are matchers (see MATCHERS below). Bytes are normalised
// on both sides first, so "hi", {"base64":"aGk="} and a {size, sha256} digest compare as the same bytes.
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Values longer than this are compared by size and SHA-256 (PROTOCOL.md section 5). */
export const DIGEST_THRESHOLD_BYTES = 64 * 1024;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bytesToCanonical(bytes: Buffer): Json {
  if (bytes.length > DIGEST_THRESHOLD_BYTES) {
    return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return text;
  return { base64: bytes.toString('base64') };
}

/** Expands {"fill","size"} and decodes {"base64"} into the canonical form; leaves other values alone. */
export function canonicalBytes(value: Json): Json {
  if (typeof value === 'string') {
    return Buffer.byteLength(value) > DIGEST_THRESHOLD_BYTES ? bytesToCanonical(Buffer.from(value)) : value;
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value).sort().join(',');
  if (keys === 'base64' && typeof value.base64 === 'string') {
    return bytesToCanonical(Buffer.from(value.base64, 'base64'));
  }
  if (keys === 'fill,size' && typeof value.fill === 'string' && typeof value.size === 'number') {
    return bytesToCanonical(fillBytes(value.fill, value.size));
  }
  return value;
}

export function fillBytes(fill: string, size: number): Buffer {
  const unit = Buffer.from(fill, 'utf8');
  const bytes = Buffer.alloc(size);
  for (let at = 0; at < size; at += unit.length) unit.copy(bytes, at, 0, Math.min(unit.length, size - at));
  return bytes;
}

const BYTES_FIELDS = new Set(['key', 'value']);

/** Normalises every Bytes position (record key/value, header values) in a driver's value. */
export function normaliseValue(value: Json, parentKey = ''): Json {
  if (Array.isArray(value)) return value.map((item) => normaliseValue(item, parentKey));
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = BYTES_FIELDS.has(key) && item !== undefined ? canonicalBytes(item) : normaliseValue(item, key);
  }
  return out;
}

type Matcher = (actual: Json | undefined, argument: Json, path: string, diffs: string[]) => void;

const MATCHERS: Record<string, Matcher> = {
  /** Present, any value. */
  $any: (actual, _argument, path, diffs) => {
    if (actual === undefined) diffs.push(`${path}: missing`);
  },
  /** Absent (or undefined). */
  $absent: (actual, _argument, path, diffs) => {
    if (actual !== undefined) diffs.push(`${path}: expected absent, got ${show(actual)}`);
  },
  /** typeof check: "number", "string", "boolean", "array", "object", "null". */
  $type: (actual, argument, path, diffs) => {
    const type = actual === null ? 'null' : Array.isArray(actual) ? 'array' : typeof actual;
    if (type !== argument) diffs.push(`${path}: expected a ${argument}, got ${show(actual)}`);
  },
  /** An array of exactly this length. */
  $len: (actual, argument, path, diffs) => {
    if (!Array.isArray(actual) || actual.length !== argument) {
      diffs.push(
        `${path}: expected ${argument} items, got ${Array.isArray(actual) ? actual.length : show(actual)}`,
      );
    }
  },
  /** An array of at least this length (e.g. more records than were sent: duplicates). */
  $minLen: (actual, argument, path, diffs) => {
    if (!Array.isArray(actual) || actual.length < (argument as number)) {
      diffs.push(
        `${path}: expected at least ${argument} items, got ${Array.isArray(actual) ? `${actual.length}: ${show(actual)}` : show(actual)}`,
      );
    }
  },
  /** Matches every one of the patterns. */
  $allOf: (actual, argument, path, diffs) => {
    for (const pattern of argument as Json[]) compare(actual, pattern, path, diffs);
  },
  $gte: (actual, argument, path, diffs) => {
    if (typeof actual !== 'number' || actual < (argument as number))
      diffs.push(`${path}: expected ≥ ${argument}, got ${show(actual)}`);
  },
  $lte: (actual, argument, path, diffs) => {
    if (typeof actual !== 'number' || actual > (argument as number))
      diffs.push(`${path}: expected ≤ ${argument}, got ${show(actual)}`);
  },
  /** An array that contains, for each pattern, at least one element matching it. */
  $contains: (actual, argument, path, diffs) => {
    if (!Array.isArray(actual)) return void diffs.push(`${path}: expected an array, got ${show(actual)}`);
    for (const pattern of argument as Json[]) {
      if (!actual.some((item) => matches(item, pattern)))
        diffs.push(`${path}: no element matches ${show(pattern)}`);
    }
  },
  /** An array with no element matching any of the patterns. */
  $excludes: (actual, argument, path, diffs) => {
    if (!Array.isArray(actual)) return void diffs.push(`${path}: expected an array, got ${show(actual)}`);
    for (const pattern of argument as Json[]) {
      if (actual.some((item) => matches(item, pattern)))
        diffs.push(`${path}: unexpected element matching ${show(pattern)}`);
    }
  },
  /** Matches at least one of the patterns. */
  $oneOf: (actual, argument, path, diffs) => {
    if (!(argument as Json[]).some((pattern) => matches(actual, pattern))) {
      diffs.push(`${path}: ${show(actual)} matches none of ${show(argument)}`);
    }
  },
  /** An array whose elements each match the pattern. */
  $each: (actual, argument, path, diffs) => {
    if (!Array.isArray(actual)) return void diffs.push(`${path}: expected an array, got ${show(actual)}`);
    for (const [index, item] of actual.entries()) compare(item, argument, `${path}[${index}]`, diffs);
  },
};

export function show(value: Json | undefined): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function matcherOf(pattern: Json): [Matcher, Json] | undefined {
  if (!isObject(pattern)) return undefined;
  const keys = Object.keys(pattern);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || !key.startsWith('$')) return undefined;
  const matcher = MATCHERS[key];
  if (!matcher) throw new Error(`unknown matcher ${key}`);
  return [matcher, pattern[key] as Json];
}

/** Appends a line per difference between actual and the expected pattern. */
export function compare(actual: Json | undefined, expected: Json, path: string, diffs: string[]): void {
  const matcher = matcherOf(expected);
  if (matcher) {
    matcher[0](actual, matcher[1], path, diffs);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return void diffs.push(`${path}: expected an array, got ${show(actual)}`);
    if (actual.length !== expected.length) {
      diffs.push(`${path}: expected ${expected.length} items, got ${actual.length}: ${show(actual)}`);
      return;
    }
    for (const [index, item] of expected.entries()) compare(actual[index], item, `${path}[${index}]`, diffs);
    return;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return void diffs.push(`${path}: expected an object, got ${show(actual)}`);
    for (const [key, item] of Object.entries(expected)) compare(actual[key], item, `${path}.${key}`, diffs);
    return;
  }
  if (actual !== expected) diffs.push(`${path}: expected ${show(expected)}, got ${show(actual)}`);
}

export function matches(actual: Json | undefined, expected: Json): boolean {
  const diffs: string[] = [];
  compare(actual, expected, '', diffs);
  return diffs.length === 0;
}
