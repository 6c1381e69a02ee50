/**
 * Avro through avsc: parsing (named types, logical types, defaults checked), Avro's Parsing Canonical
 * Form for `normalize`, and compatibility by avsc's reader/writer schema resolution, which follows the
 * Avro specification's resolution rules (promotions, defaults for missing fields, enum symbols,
 * union branches, names and aliases) — the same test Confluent's AvroSchema applies.
 */
import avro from 'avsc';
import { errors } from '../errors.ts';
import type { ParsedSchema, ResolvedReference, SchemaFormat } from './types.ts';

export interface AvroSchema extends ParsedSchema {
  readonly avroType: avro.Type;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw errors.invalidSchema(`${what} is not JSON: ${(error as Error).message}`);
  }
}

function forSchema(schema: unknown, registry: Record<string, avro.Type>): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry, wrapUnions: 'auto' });
}

export const avroFormat: SchemaFormat<AvroSchema> = {
  type: 'AVRO',

  parse(text: string, references: readonly ResolvedReference[]): AvroSchema {
    const registry: Record<string, avro.Type> = {};
    for (const reference of references) {
      try {
        forSchema(parseJson(reference.schema, `reference '${reference.name}'`), registry);
      } catch (error) {
        throw errors.invalidSchema(`reference '${reference.name}': ${(error as Error).message}`);
      }
    }
    const json = parseJson(text, 'the schema');
    let avroType: avro.Type;
    try {
      avroType = forSchema(json, registry);
    } catch (error) {
      throw errors.invalidSchema((error as Error).message);
    }
    return {
      type: 'AVRO',
      canonical: JSON.stringify(json),
      normalized: JSON.stringify(avroType.schema()),
      avroType,
    };
  },

  readerProblems(reader: AvroSchema, writer: AvroSchema): string[] {
    try {
      reader.avroType.createResolver(writer.avroType);
      return [];
    } catch (error) {
      return [`READER_CANNOT_READ_WRITER: ${(error as Error).message}`];
    }
  },
};
