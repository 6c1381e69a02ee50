/**
 * The records of v3 produce: a request body holds one JSON record or a stream of them (objects one
 * after another, whitespace between). `splitJsonStream` cuts the text into objects without parsing
 * them twice; `readV3Record` checks one against Confluent's ProduceRequest shape and turns its key
 * and value (`BINARY` base64, `JSON` any value, `STRING` text, `AVRO`/`JSONSCHEMA`/`PROTOBUF` with a
 * schema inline or by id, or no type: a registered schema by id, version or latest) into bytes.
 */
import { Ajv } from 'ajv';
import { RestError } from './errors.ts';
import { binaryCodec, type EmbeddedFormats, type FieldCodec, type SchemaFormatName } from './formats.ts';

export interface V3Data {
  readonly type: string;
  readonly bytes: Buffer | null;
  /** The schema the bytes were written with (schema types only). */
  readonly schemaId?: number | null;
}

export interface V3Record {
  readonly partitionId: number | undefined;
  readonly key: V3Data | undefined;
  readonly value: V3Data | undefined;
  readonly headers: { key: string; value: Buffer | null }[];
  readonly timestamp: number | undefined;
}

const dataSchema = {
  type: 'object',
  properties: {
    type: { enum: ['BINARY', 'JSON', 'STRING', 'AVRO', 'JSONSCHEMA', 'PROTOBUF'] },
    data: {},
    subject: { type: 'string', minLength: 1 },
    subject_name_strategy: { type: 'string' },
    schema: { type: 'string' },
    schema_id: { type: 'integer', minimum: 0 },
    schema_version: { type: 'integer', minimum: 1 },
  },
} as const;

const recordSchema = {
  type: 'object',
  properties: {
    partition_id: { type: ['integer', 'null'], minimum: 0 },
    headers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, value: { type: ['string', 'null'] } },
      },
    },
    key: { anyOf: [dataSchema, { type: 'null' }] },
    value: { anyOf: [dataSchema, { type: 'null' }] },
    timestamp: { type: ['string', 'null'] },
  },
} as const;

const validate = new Ajv({ strict: false }).compile(recordSchema);

/**
 * Cuts a stream of JSON objects (whitespace between them) into one text per object as the chunks
 * arrive, without parsing them. An object longer than `objectCharsMax` or text that is not an object
 * ends the stream with an Error in its place (nothing after it can be framed).
 */
export class JsonObjectSplitter {
  readonly objectCharsMax: number;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #current = '';
  #failed = false;

  constructor(objectCharsMax: number) {
    this.objectCharsMax = objectCharsMax;
  }

  get failed(): boolean {
    return this.#failed;
  }

  push(text: string): (string | Error)[] {
    const pieces: (string | Error)[] = [];
    if (this.#failed) return pieces;
    let start = this.#depth > 0 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) this.#inString = false;
        continue;
      }
      if (c === 0x22 && this.#depth > 0) {
        this.#inString = true;
      } else if (c === 0x7b) {
        if (this.#depth === 0) start = i;
        this.#depth++;
      } else if (c === 0x7d && this.#depth > 0) {
        this.#depth--;
        if (this.#depth === 0) {
          pieces.push(this.#current + text.slice(start, i + 1));
          this.#current = '';
          start = -1;
        }
      } else if (this.#depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        this.#failed = true;
        pieces.push(new Error(`expected '{' to start a record, found '${text[i]}'`));
        return pieces;
      }
    }
    if (this.#depth > 0) {
      this.#current += text.slice(start);
      if (this.#current.length > this.objectCharsMax) {
        this.#failed = true;
        pieces.push(
          new Error(
            `a record is longer than ${this.objectCharsMax} characters (rest.request.body.max.bytes)`,
          ),
        );
      }
    }
    return pieces;
  }

  /** The end of the stream: an Error when it ends inside a record. */
  end(): (string | Error)[] {
    if (this.#failed || this.#depth === 0) return [];
    this.#failed = true;
    return [new Error('the body ends inside a record')];
  }
}

/** One text per top-level JSON object, or an Error for text that is not an object; in order. */
export function splitJsonStream(text: string): (string | Error)[] {
  const splitter = new JsonObjectSplitter(Number.MAX_SAFE_INTEGER);
  return [...splitter.push(text), ...splitter.end()];
}

async function dataBytes(
  field: unknown,
  side: 'key' | 'value',
  topic: string,
  formats: EmbeddedFormats,
): Promise<V3Data | undefined> {
  if (field === null || field === undefined) return undefined;
  const {
    type,
    data,
    subject,
    subject_name_strategy: strategy,
    schema,
    schema_id: schemaId,
    schema_version: schemaVersion,
  } = field as {
    type?: string;
    data?: unknown;
    subject?: string;
    subject_name_strategy?: string;
    schema?: string;
    schema_id?: number;
    schema_version?: number;
  };
  if (type === undefined) {
    // No type: Confluent's records use a registered schema, found by schema_id, else by
    // schema_version of the subject, else the subject's latest version. The subject is given or
    // named by the TOPIC_NAME strategy (<topic>-key, <topic>-value), the only strategy served here.
    if (strategy !== undefined && strategy.toUpperCase() !== 'TOPIC_NAME') {
      throw new RestError(
        400,
        400,
        `${side}.subject_name_strategy ${strategy} is not supported by this proxy: give subject, or use TOPIC_NAME`,
      );
    }
    const resolved = await formats.resolveSchema(subject ?? `${topic}-${side}`, schemaId, schemaVersion);
    const bytes =
      data === undefined || data === null
        ? null
        : (await schemaCodec(formats, resolved.format, topic, side, { id: resolved.id })).encode(
            data,
            `${side}.data`,
          );
    return { type: TYPE_OF_FORMAT[resolved.format], bytes, schemaId: resolved.id };
  }
  const format = SCHEMA_TYPES[type];
  if (format !== undefined) {
    // The schema inline (registered under the subject given, else <topic>-key / <topic>-value)
    // or by id, as v2 does.
    if (schema === undefined && schemaId === undefined) {
      throw new RestError(400, 400, `${side}: type ${type} needs schema or schema_id`);
    }
    const { codec, id } = await schemaCodecWithId(formats, format, topic, side, {
      schema,
      id: schemaId,
      subject,
    });
    return { type, bytes: codec.encode(data, `${side}.data`), schemaId: id };
  }
  if (data === undefined || data === null) return { type, bytes: null };
  if (type === 'BINARY') return { type, bytes: binaryCodec.encode(data, `${side}.data`) };
  if (type === 'STRING') {
    if (typeof data !== 'string') throw new RestError(400, 400, `${side}.data: type STRING needs a string`);
    return { type, bytes: Buffer.from(data, 'utf8') };
  }
  return { type, bytes: Buffer.from(JSON.stringify(data), 'utf8') };
}

const SCHEMA_TYPES: Record<string, SchemaFormatName | undefined> = {
  AVRO: 'avro',
  JSONSCHEMA: 'jsonschema',
  PROTOBUF: 'protobuf',
};
const TYPE_OF_FORMAT: Record<SchemaFormatName, string> = {
  avro: 'AVRO',
  jsonschema: 'JSONSCHEMA',
  protobuf: 'PROTOBUF',
};

/** The codec of one side (key or value) for a schema inline or by id, and the schema's id. */
async function schemaCodecWithId(
  formats: EmbeddedFormats,
  format: SchemaFormatName,
  topic: string,
  side: 'key' | 'value',
  given: { schema?: string | undefined; id?: number | undefined; subject?: string | undefined },
): Promise<{ codec: FieldCodec; id: number | null }> {
  const codecs = await formats.schemaFormat(format).produceCodecs({
    topic,
    ...(side === 'key'
      ? { keySchema: given.schema, keySchemaId: given.id, keySubject: given.subject }
      : { valueSchema: given.schema, valueSchemaId: given.id, valueSubject: given.subject }),
    hasKeys: side === 'key',
    hasValues: side === 'value',
  });
  return side === 'key'
    ? { codec: codecs.key, id: codecs.keySchemaId }
    : { codec: codecs.value, id: codecs.valueSchemaId };
}

async function schemaCodec(
  formats: EmbeddedFormats,
  format: SchemaFormatName,
  topic: string,
  side: 'key' | 'value',
  given: { id: number },
): Promise<FieldCodec> {
  return (await schemaCodecWithId(formats, format, topic, side, given)).codec;
}

/** One record of a v3 produce request, or a RestError naming the fault (400; 422 for a value its schema refuses). */
export async function readV3Record(text: string, topic: string, formats: EmbeddedFormats): Promise<V3Record> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RestError(400, 400, `Malformed JSON record: ${(error as Error).message}`);
  }
  if (!validate(parsed)) {
    const first = validate.errors?.[0];
    throw new RestError(
      400,
      400,
      `Invalid record: ${first?.instancePath || 'record'} ${first?.message ?? ''}`.trim(),
    );
  }
  const r = parsed as {
    partition_id?: number | null;
    headers?: { name: string; value?: string | null }[];
    key?: unknown;
    value?: unknown;
    timestamp?: string | null;
  };
  let timestamp: number | undefined;
  if (typeof r.timestamp === 'string') {
    timestamp = Date.parse(r.timestamp);
    if (Number.isNaN(timestamp))
      throw new RestError(400, 400, `timestamp '${r.timestamp}' is not an ISO-8601 date`);
  }
  try {
    return {
      partitionId: r.partition_id ?? undefined,
      key: await dataBytes(r.key, 'key', topic, formats),
      value: await dataBytes(r.value, 'value', topic, formats),
      headers: (r.headers ?? []).map((h) => ({
        key: h.name,
        value:
          h.value === null || h.value === undefined
            ? null
            : binaryCodec.encode(h.value, `headers[${h.name}].value`),
      })),
      timestamp,
    };
  } catch (error) {
    // v3 answers a record it cannot read with 400 (v2 uses 422 for the same fault), but keeps
    // Confluent's 42203/42205 for values and schemas the Schema Registry side refuses.
    if (error instanceof RestError && error.status === 422 && error.errorCode === 422) {
      throw new RestError(400, 400, error.message);
    }
    throw error;
  }
}
