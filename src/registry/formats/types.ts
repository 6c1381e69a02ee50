/** What every schema format (Avro, JSON Schema, Protobuf) provides to the registry. */

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';
export const SCHEMA_TYPES: readonly SchemaType[] = ['JSON', 'PROTOBUF', 'AVRO'];

/** A reference as registered: the name the schema uses, and the subject/version that holds it. */
export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

/** A reference with the text it names, in dependency order (a reference's own references first). */
export interface ResolvedReference {
  readonly name: string;
  readonly schema: string;
}

export interface ParsedSchema {
  readonly type: SchemaType;
  /** The text stored and returned for this schema (Avro and JSON: compact JSON; Protobuf: as given). */
  readonly canonical: string;
  /** The text stored when the request asks `normalize=true` (key order and defaults made uniform). */
  readonly normalized: string;
}

export interface SchemaFormat<P extends ParsedSchema = ParsedSchema> {
  readonly type: SchemaType;
  /** Parses and validates with the format's library; throws RegistryError 42201 with the parser's message. */
  parse(text: string, references: readonly ResolvedReference[]): P;
  /** Why data written with `writer` cannot be read with `reader`; empty when it can. */
  readerProblems(reader: P, writer: P): string[];
}
