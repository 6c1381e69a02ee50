/**
 * Reads a Compose env file (`--env-file`): `NAME=value` lines, `#` comments, blank lines,
 * optional `export `, single quotes (literal), double quotes (with \n, \t, \", \\ escapes),
 * and ` #` comments after unquoted values. Values may use `${OTHER}` from earlier lines,
 * as Compose allows. Every entry keeps its line so findings can point at it.
 */
import { readFileSync } from 'node:fs';
import { InputError } from './errors.ts';
import { interpolate } from './interpolate.ts';

export interface EnvEntry {
  readonly value: string;
  readonly line: number;
  /** A `#` comment heads the block of lines this entry belongs to. */
  readonly documented: boolean;
}

export interface EnvFile {
  /** The path as the user gave it, for messages. */
  readonly displayPath: string;
  readonly entries: ReadonlyMap<string, EnvEntry>;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function readEnvFile(path: string, displayPath: string): EnvFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new InputError(
      displayPath,
      undefined,
      `cannot read the env file (${reason}); check the --env-file path`,
    );
  }
  return parseEnvFile(text, displayPath);
}

export function parseEnvFile(text: string, displayPath: string): EnvFile {
  const entries = new Map<string, EnvEntry>();
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const body = trimmed.startsWith('export ') ? trimmed.slice('export '.length).trimStart() : trimmed;
    const equals = body.indexOf('=');
    if (equals <= 0) {
      throw new InputError(displayPath, line, `expected NAME=value, found '${trimmed}'`);
    }
    const name = body.slice(0, equals).trim();
    if (!NAME_PATTERN.test(name)) {
      throw new InputError(displayPath, line, `'${name}' is not a valid variable name`);
    }
    const value = parseValue(body.slice(equals + 1).trim(), displayPath, line);
    const lookup = (key: string): string | undefined => entries.get(key)?.value;
    const expanded = value.quoted === 'single' ? value.text : interpolate(value.text, lookup).value;
    entries.set(name, { value: expanded, line, documented: isDocumented(lines, index) });
  });
  return { displayPath, entries };
}

interface RawValue {
  readonly text: string;
  readonly quoted: 'single' | 'double' | 'none';
}

function parseValue(raw: string, displayPath: string, line: number): RawValue {
  const quote = raw[0];
  if (quote === "'" || quote === '"') {
    const end = closingQuote(raw, quote);
    if (end < 0) throw new InputError(displayPath, line, `unterminated ${quote} quote in value`);
    const inner = raw.slice(1, end);
    if (quote === "'") return { text: inner, quoted: 'single' };
    const text = inner.replace(/\\([nt"\\])/g, (_match, escaped: string) =>
      escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped,
    );
    return { text, quoted: 'double' };
  }
  const comment = raw.search(/\s#/);
  return { text: (comment < 0 ? raw : raw.slice(0, comment)).trim(), quoted: 'none' };
}

/** Walks up through the adjacent NAME=value lines to see whether a comment heads them. */
function isDocumented(lines: readonly string[], index: number): boolean {
  for (let above = index - 1; above >= 0; above -= 1) {
    const text = (lines[above] ?? '').trim();
    if (text.startsWith('#')) return true;
    if (text === '') return false;
  }
  return false;
}

/** Index of the quote closing `raw`; inside double quotes a backslash escapes the next character. */
function closingQuote(raw: string, quote: string): number {
  for (let index = 1; index < raw.length; index += 1) {
    if (quote === '"' && raw[index] === '\\') index += 1;
    else if (raw[index] === quote) return index;
  }
  return -1;
}
