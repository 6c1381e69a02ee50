/** The three schema formats by their `schemaType` name. */
import { errors } from '../errors.ts';
import { avroFormat } from './avro.ts';
import { jsonSchemaFormat } from './json-schema.ts';
import { protobufFormat } from './protobuf.ts';
import type { ParsedSchema, SchemaFormat, SchemaType } from './types.ts';

const FORMATS: Record<SchemaType, SchemaFormat> = {
  AVRO: avroFormat as unknown as SchemaFormat,
  JSON: jsonSchemaFormat as unknown as SchemaFormat,
  PROTOBUF: protobufFormat as unknown as SchemaFormat,
};

export function formatOf(schemaType: unknown): SchemaFormat {
  const name = schemaType === undefined || schemaType === null ? 'AVRO' : schemaType;
  if (typeof name !== 'string' || !(name in FORMATS)) {
    throw errors.invalidSchema(`unknown schemaType '${String(name)}': use AVRO, JSON or PROTOBUF`);
  }
  return FORMATS[name as SchemaType];
}

export type { ParsedSchema, SchemaType };
