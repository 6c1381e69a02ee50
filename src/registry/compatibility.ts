/**
 * Compatibility levels as Confluent defines them. BACKWARD: the new schema reads data written with
 * the previous one; FORWARD: the previous schema reads data written with the new one; FULL: both.
 * The *_TRANSITIVE levels check every earlier live version instead of the latest only.
 */
import type { ParsedSchema, SchemaFormat } from './formats/types.ts';

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
export const COMPATIBILITY_DEFAULT: CompatibilityLevel = 'BACKWARD';

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

export interface PreviousVersion {
  readonly version: number;
  readonly schema: ParsedSchema;
}

/**
 * Messages naming each incompatibility of `candidate` with `previous` (oldest first) at `level`;
 * empty when compatible. Versions of another schema type are incompatible by definition.
 */
export function checkCompatibility(
  format: SchemaFormat,
  candidate: ParsedSchema,
  previous: readonly PreviousVersion[],
  level: CompatibilityLevel,
): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const old of [...against].reverse()) {
    const where = `{oldSchemaVersion: ${old.version}, compatibility: '${level}'}`;
    if (old.schema.type !== candidate.type) {
      messages.push(`SCHEMA_TYPE_CHANGED: ${old.schema.type} → ${candidate.type} ${where}`);
      continue;
    }
    if (backward) {
      for (const problem of format.readerProblems(candidate, old.schema)) {
        messages.push(`${problem} (the new schema cannot read data written with the old one) ${where}`);
      }
    }
    if (forward) {
      for (const problem of format.readerProblems(old.schema, candidate)) {
        messages.push(`${problem} (the old schema cannot read data written with the new one) ${where}`);
      }
    }
  }
  return messages;
}
