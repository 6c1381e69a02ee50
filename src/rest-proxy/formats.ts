/**
 * Embedded formats: how the key and value of a record travel inside the proxy's JSON.
 * `binary` carries base64 strings, `json` carries any JSON value (stored as its UTF-8 text).
 * The schema formats (`avro`, `jsonschema`, `protobuf`) are clients of a Schema Registry: a
 * `SchemaFormat` resolves the request's schemas (inline or by id) against the registry URL and
 * answers with codecs and schema ids. This version ships none, so they answer 415 saying what is
 * missing; a registry-backed implementation plugs in through `schemaFormats` without touching
 * the routes.
 */
import { RestError, unprocessable } from './errors.ts';

export const EMBEDDED_FORMATS = ['binary', 'json', 'avro', 'jsonschema', 'protobuf'] as const;
export type EmbeddedFormat = (typeof EMBEDDED_FORMATS)[number];
export type SchemaFormatName = 'avro' | 'jsonschema' | 'protobuf';

export function isEmbeddedFormat(name: string): name is EmbeddedFormat {
  return (EMBEDDED_FORMATS as readonly string[]).includes(name);
}

/** Turns one JSON field of a request into record bytes (null stays null), and record bytes back. */
export interface FieldCodec {
  encode(field: unknown, where: string): Buffer | null;
  decode(bytes: Buffer | null | undefined, where: string): unknown;
}

/** What a produce request resolves to: codecs for keys and values and the schema ids to report. */
export interface ProduceCodecs {
  readonly key: FieldCodec;
  readonly value: FieldCodec;
  readonly keySchemaId: number | null;
  readonly valueSchemaId: number | null;
}

/** The schema part of a v2 produce request. */
export interface SchemaRequest {
  readonly topic: string;
  readonly keySchema?: string | undefined;
  readonly keySchemaId?: number | undefined;
  readonly valueSchema?: string | undefined;
  readonly valueSchemaId?: number | undefined;
  /** Subjects for inline schemas (v3 `subject`); by default `<topic>-key` and `<topic>-value`. */
  readonly keySubject?: string | undefined;
  readonly valueSubject?: string | undefined;
  readonly hasKeys: boolean;
  readonly hasValues: boolean;
}

/** A registry-backed format: resolves schemas (registering inline ones) and builds codecs. */
export interface SchemaFormat {
  produceCodecs(request: SchemaRequest): Promise<ProduceCodecs>;
  /** Decodes a record field written in Confluent's wire format (magic byte, schema id, payload). */
  decode(bytes: Buffer | null | undefined, where: string): Promise<unknown>;
}

export const binaryCodec: FieldCodec = {
  encode(field, where) {
    if (field === null || field === undefined) return null;
    if (typeof field !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(field) || field.length % 4 === 1) {
      throw unprocessable(`${where}: binary embedded format needs a base64 string, got ${describe(field)}`);
    }
    return Buffer.from(field, 'base64');
  },
  decode(bytes) {
    return bytes === null || bytes === undefined ? null : bytes.toString('base64');
  },
};

export const jsonCodec: FieldCodec = {
  encode(field) {
    if (field === null || field === undefined) return null;
    return Buffer.from(JSON.stringify(field), 'utf8');
  },
  decode(bytes, where) {
    if (bytes === null || bytes === undefined) return null;
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new RestError(
        500,
        50002,
        `${where} is not JSON, so the json format cannot carry it: ${(error as Error).message}`,
      );
    }
  },
};

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Finds a registered schema: by id, else a subject's version, else the subject's latest. */
export interface SchemaResolver {
  resolve(
    subject: string,
    id: number | undefined,
    version: number | undefined,
  ): Promise<{ id: number; schemaType: string }>;
}

/** The Schema Registry's schemaType → the embedded format that writes it. */
const FORMAT_OF_REGISTRY_TYPE: Record<string, SchemaFormatName | undefined> = {
  AVRO: 'avro',
  JSON: 'jsonschema',
  PROTOBUF: 'protobuf',
};

/** The formats a proxy serves, given the Schema Registry formats it was started with. */
export class EmbeddedFormats {
  readonly #schemaFormats: ReadonlyMap<SchemaFormatName, SchemaFormat>;
  readonly #schemaRegistryUrl: string | undefined;
  readonly #resolver: SchemaResolver | undefined;

  constructor(
    schemaRegistryUrl: string | undefined,
    schemaFormats: ReadonlyMap<SchemaFormatName, SchemaFormat>,
    resolver?: SchemaResolver,
  ) {
    this.#schemaRegistryUrl = schemaRegistryUrl;
    this.#schemaFormats = schemaFormats;
    this.#resolver = resolver;
  }

  /** A registered schema's id and the format that writes it (v3 records with no `type`). */
  async resolveSchema(
    subject: string,
    id: number | undefined,
    version: number | undefined,
  ): Promise<{ id: number; format: SchemaFormatName }> {
    if (this.#resolver === undefined) {
      throw new RestError(
        415,
        415,
        `A key or value without a type uses a registered schema (subject ${subject}): start the proxy with --schema-registry URL (schemaRegistryUrl).`,
      );
    }
    const found = await this.#resolver.resolve(subject, id, version);
    const format = FORMAT_OF_REGISTRY_TYPE[found.schemaType];
    if (format === undefined)
      throw new RestError(
        422,
        42205,
        `Schema ${found.id} has type ${found.schemaType}, which no embedded format writes`,
      );
    return { id: found.id, format };
  }

  /** The schema format, or 415 naming what is missing. */
  schemaFormat(format: SchemaFormatName): SchemaFormat {
    const found = this.#schemaFormats.get(format);
    if (found !== undefined) return found;
    throw new RestError(
      415,
      415,
      this.#schemaRegistryUrl === undefined
        ? `Embedded format '${format}' needs a Schema Registry: start the proxy with --schema-registry URL (schemaRegistryUrl).`
        : `Embedded format '${format}' is not supported by this kstack REST proxy yet (Schema Registry ${this.#schemaRegistryUrl}); use binary or json.`,
    );
  }

  async produceCodecs(format: EmbeddedFormat, request: SchemaRequest): Promise<ProduceCodecs> {
    if (format === 'binary' || format === 'json') {
      const codec = format === 'binary' ? binaryCodec : jsonCodec;
      return { key: codec, value: codec, keySchemaId: null, valueSchemaId: null };
    }
    return this.schemaFormat(format).produceCodecs(request);
  }

  /** Checks up front that a consumer of this format can be served. */
  checkConsumable(format: EmbeddedFormat): void {
    if (format !== 'binary' && format !== 'json') this.schemaFormat(format);
  }

  async decode(format: EmbeddedFormat, bytes: Buffer | null | undefined, where: string): Promise<unknown> {
    if (format === 'binary') return binaryCodec.decode(bytes, where);
    if (format === 'json') return jsonCodec.decode(bytes, where);
    return this.schemaFormat(format).decode(bytes, where);
  }
}
