/**
 * The schema-aware embedded formats (avro, jsonschema, protobuf) as clients of a Schema Registry
 * URL (Confluent's API: `src/registry` or Confluent's own). A produce request's inline schema is
 * registered under the topic's subject (`<topic>-key` / `<topic>-value`, Confluent's
 * TopicNameStrategy) and its id answered; a schema id is fetched. Records are written in
 * Confluent's wire format: magic byte 0, the 4-byte big-endian schema id, for Protobuf the message
 * indexes, then the payload (Avro binary, JSON text, Protobuf binary). Reading fetches the schema by
 * the record's id and answers with JSON (Avro's JSON encoding, the JSON document, Protobuf's JSON
 * mapping).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import avro from 'avsc';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { keySchemaMissing, RestError, valueSchemaMissing } from './errors.ts';
import type { FieldCodec, ProduceCodecs, SchemaFormat, SchemaFormatName, SchemaRequest } from './formats.ts';

/** How long one Schema Registry request may take. */
export const SCHEMA_REGISTRY_TIMEOUT_MS = 10_000;
/** Parsed schemas kept by id (ids are immutable, so the cache needs no invalidation, only a bound). */
export const SCHEMA_CACHE_ENTRIES_MAX = 1_000;
const MAGIC = 0;
const REGISTRY_TYPE = { avro: 'AVRO', jsonschema: 'JSON', protobuf: 'PROTOBUF' } as const;

const invalidSchema = (detail: string): RestError => new RestError(422, 42205, `Invalid schema: ${detail}`);
const conversionError = (where: string, detail: string): RestError =>
  new RestError(422, 42203, `Conversion of JSON to the schema failed: ${where}: ${detail}`);

/** A client of Confluent's Schema Registry API: register and fetch by id. */
export class RegistryClient {
  readonly url: string;
  readonly #byId = new Map<number, { schema: string; schemaType: string }>();
  readonly #registered = new Map<string, number>();

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async #request(path: string, init: RequestInit = {}): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        ...init,
        headers: {
          'content-type': 'application/vnd.schemaregistry.v1+json',
          accept: 'application/vnd.schemaregistry.v1+json',
        },
        signal: AbortSignal.timeout(SCHEMA_REGISTRY_TIMEOUT_MS),
      });
    } catch (error) {
      throw new RestError(
        500,
        50002,
        `Schema Registry at ${this.url} did not answer: ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = { message: text };
    }
    if (!response.ok) {
      const message = (body as { message?: string }).message ?? `HTTP ${response.status}`;
      const code = (body as { error_code?: number }).error_code;
      if (response.status === 404) throw invalidSchema(`Schema Registry: ${message} (${code ?? 404})`);
      if (response.status === 409 || response.status === 422)
        throw invalidSchema(`Schema Registry: ${message} (${code ?? response.status})`);
      throw new RestError(
        500,
        50002,
        `Schema Registry at ${this.url} answered ${response.status}: ${message}`,
      );
    }
    return body;
  }

  async register(subject: string, schema: string, schemaType: string): Promise<number> {
    // The same schema under the same subject always gets the same id: ask the registry once.
    const key = `${subject}\u0000${schemaType}\u0000${schema}`;
    const known = this.#registered.get(key);
    if (known !== undefined) return known;
    const body = await this.#request(`/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      body: JSON.stringify(schemaType === 'AVRO' ? { schema } : { schema, schemaType }),
    });
    const id = (body as { id?: unknown }).id;
    if (typeof id !== 'number')
      throw new RestError(500, 50002, `Schema Registry answered no id for ${subject}`);
    this.#remember(id, { schema, schemaType });
    if (this.#registered.size >= SCHEMA_CACHE_ENTRIES_MAX)
      this.#registered.delete(this.#registered.keys().next().value as string);
    this.#registered.set(key, id);
    return id;
  }

  async schema(id: number): Promise<{ schema: string; schemaType: string }> {
    const cached = this.#byId.get(id);
    if (cached !== undefined) return cached;
    const body = (await this.#request(`/schemas/ids/${id}`)) as { schema?: string; schemaType?: string };
    if (typeof body.schema !== 'string')
      throw invalidSchema(`Schema Registry has no schema text for id ${id}`);
    const found = { schema: body.schema, schemaType: body.schemaType ?? 'AVRO' };
    this.#remember(id, found);
    return found;
  }

  /**
   * The id and type of a registered schema: by id, else the subject's version, else its latest
   * (Confluent's v3 records with no `type`).
   */
  async resolve(
    subject: string,
    id: number | undefined,
    version: number | undefined,
  ): Promise<{ id: number; schemaType: string }> {
    if (id !== undefined) return { id, schemaType: (await this.schema(id)).schemaType };
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version ?? 'latest'}`;
    const body = (await this.#request(path)) as { id?: unknown; schema?: unknown; schemaType?: string };
    if (typeof body.id !== 'number' || typeof body.schema !== 'string')
      throw new RestError(
        500,
        50002,
        `Schema Registry answered no schema for ${subject} version ${version ?? 'latest'}`,
      );
    const schemaType = body.schemaType ?? 'AVRO';
    this.#remember(body.id, { schema: body.schema, schemaType });
    return { id: body.id, schemaType };
  }

  #remember(id: number, entry: { schema: string; schemaType: string }): void {
    if (this.#byId.size >= SCHEMA_CACHE_ENTRIES_MAX)
      this.#byId.delete(this.#byId.keys().next().value as number);
    this.#byId.set(id, entry);
  }
}

/** One parsed schema: JSON value → payload bytes, payload bytes → JSON value. */
interface Codec {
  encode(value: unknown, where: string): Buffer;
  /** Protobuf: the message indexes written after the id. */
  readonly indexes?: Buffer;
  decode(payload: Buffer, where: string): unknown;
}

interface Dialect {
  parse(schema: string): Codec;
  /** Protobuf: the payload after the message indexes; others: as is. */
  decodeFrame(rest: Buffer, schema: string, where: string): unknown;
}

const avroDialect: Dialect = {
  parse(schema) {
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(JSON.parse(schema));
    } catch (error) {
      throw invalidSchema((error as Error).message);
    }
    return {
      encode(value, where) {
        try {
          return type.toBuffer(type.fromString(JSON.stringify(value)));
        } catch (error) {
          throw conversionError(where, (error as Error).message);
        }
      },
      decode(payload) {
        return JSON.parse(type.toString(type.fromBuffer(payload)));
      },
    };
  },
  decodeFrame(rest, schema, where) {
    return this.parse(schema).decode(rest, where);
  },
};

function jsonValidator(schema: object): ValidateFunction {
  const draft =
    typeof (schema as { $schema?: unknown }).$schema === 'string'
      ? (schema as { $schema: string }).$schema
      : '';
  const options = { strict: false, allErrors: false, validateFormats: false };
  const ajv = draft.includes('2020-12')
    ? new Ajv2020(options)
    : draft.includes('2019-09')
      ? new Ajv2019(options)
      : new Ajv(options);
  return ajv.compile(schema);
}

const jsonSchemaDialect: Dialect = {
  parse(schema) {
    let validate: ValidateFunction;
    try {
      validate = jsonValidator(JSON.parse(schema));
    } catch (error) {
      throw invalidSchema((error as Error).message);
    }
    return {
      encode(value, where) {
        if (!validate(value)) {
          const first = validate.errors?.[0];
          throw conversionError(
            where,
            `${first?.instancePath || '(root)'} ${first?.message ?? 'does not match the schema'}`,
          );
        }
        return Buffer.from(JSON.stringify(value), 'utf8');
      },
      decode(payload, where) {
        try {
          return JSON.parse(payload.toString('utf8'));
        } catch (error) {
          throw new RestError(500, 50002, `${where} is not JSON: ${(error as Error).message}`);
        }
      },
    };
  },
  decodeFrame(rest, schema, where) {
    return this.parse(schema).decode(rest, where);
  },
};

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}$/;

/** The top-level message types of a .proto text (or base64 FileDescriptorProto), in file order. */
function protoMessages(schema: string): protobuf.Type[] {
  let root: protobuf.Root;
  let pkg: string | undefined;
  try {
    const trimmed = schema.trim();
    if (!/\b(syntax|message|package)\b/.test(trimmed) && BASE64.test(trimmed)) {
      const file = descriptor.FileDescriptorProto.decode(Buffer.from(trimmed, 'base64')) as unknown as {
        package?: string;
      };
      root = protobuf.Root.fromDescriptor({ file: [file] } as never, { keepCase: true } as never);
      pkg = file.package || undefined;
    } else {
      const parsed = protobuf.parse(schema, { keepCase: true });
      root = parsed.root;
      pkg = parsed.package;
    }
    root.resolveAll();
  } catch (error) {
    throw invalidSchema((error as Error).message);
  }
  const ns = pkg === undefined ? root : root.lookup(pkg);
  if (!(ns instanceof protobuf.Namespace)) throw invalidSchema(`package ${pkg} holds nothing`);
  const messages = ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
  if (messages.length === 0) throw invalidSchema('the schema declares no message');
  return messages;
}

function readZigzagVarint(buffer: Buffer, at: { offset: number }, where: string): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = buffer[at.offset++];
    if (byte === undefined || shift > 28)
      throw new RestError(500, 50002, `${where}: truncated Protobuf message indexes`);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return (result >>> 1) ^ -(result & 1);
}

const protobufDialect: Dialect = {
  parse(schema) {
    const type = protoMessages(schema)[0] as protobuf.Type;
    return {
      // The first message of the file: indexes [0], written as the single byte 0.
      indexes: Buffer.from([0]),
      encode(value, where) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw conversionError(
            where,
            `a Protobuf message needs a JSON object, got ${JSON.stringify(value)}`,
          );
        }
        const problem = type.verify(value);
        if (problem !== null) throw conversionError(where, problem);
        return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
      },
      decode(payload) {
        return type.toObject(type.decode(payload), protobuf.util.toJSONOptions);
      },
    };
  },
  decodeFrame(rest, schema, where) {
    const at = { offset: 0 };
    const count = readZigzagVarint(rest, at, where);
    const path = count === 0 ? [0] : Array.from({ length: count }, () => readZigzagVarint(rest, at, where));
    let type: protobuf.Type | undefined = protoMessages(schema)[path[0] ?? 0];
    for (const index of path.slice(1)) {
      type = type?.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type)[index];
    }
    if (type === undefined)
      throw new RestError(500, 50002, `${where}: message indexes ${path.join(',')} name no message`);
    return type.toObject(type.decode(rest.subarray(at.offset)), protobuf.util.toJSONOptions);
  },
};

const DIALECTS: Record<SchemaFormatName, Dialect> = {
  avro: avroDialect,
  jsonschema: jsonSchemaDialect,
  protobuf: protobufDialect,
};

class RegistryFormat implements SchemaFormat {
  readonly #name: SchemaFormatName;
  readonly #registry: RegistryClient;
  readonly #codecs = new Map<number, Codec>();

  constructor(name: SchemaFormatName, registry: RegistryClient) {
    this.#name = name;
    this.#registry = registry;
  }

  async #codec(id: number): Promise<Codec> {
    const cached = this.#codecs.get(id);
    if (cached !== undefined) return cached;
    const { schema, schemaType } = await this.#registry.schema(id);
    if (schemaType !== REGISTRY_TYPE[this.#name]) {
      throw invalidSchema(
        `schema ${id} is ${schemaType}, not ${REGISTRY_TYPE[this.#name]} as the ${this.#name} format needs`,
      );
    }
    const codec = DIALECTS[this.#name].parse(schema);
    if (this.#codecs.size >= SCHEMA_CACHE_ENTRIES_MAX)
      this.#codecs.delete(this.#codecs.keys().next().value as number);
    this.#codecs.set(id, codec);
    return codec;
  }

  async #side(
    subject: string,
    schema: string | undefined,
    id: number | undefined,
  ): Promise<{ id: number; codec: Codec }> {
    if (schema !== undefined) {
      DIALECTS[this.#name].parse(schema); // a bad schema is the client's fault: 42205 before registering
      const registered = await this.#registry.register(subject, schema, REGISTRY_TYPE[this.#name]);
      return { id: registered, codec: await this.#codec(registered) };
    }
    return { id: id as number, codec: await this.#codec(id as number) };
  }

  async produceCodecs(request: SchemaRequest): Promise<ProduceCodecs> {
    const keyGiven = request.keySchema !== undefined || request.keySchemaId !== undefined;
    const valueGiven = request.valueSchema !== undefined || request.valueSchemaId !== undefined;
    if (request.hasKeys && !keyGiven) throw keySchemaMissing();
    if (request.hasValues && !valueGiven) throw valueSchemaMissing();
    const key = keyGiven
      ? await this.#side(request.keySubject ?? `${request.topic}-key`, request.keySchema, request.keySchemaId)
      : undefined;
    const value = valueGiven
      ? await this.#side(
          request.valueSubject ?? `${request.topic}-value`,
          request.valueSchema,
          request.valueSchemaId,
        )
      : undefined;
    return {
      key: frameCodec(key),
      value: frameCodec(value),
      keySchemaId: key?.id ?? null,
      valueSchemaId: value?.id ?? null,
    };
  }

  async decode(bytes: Buffer | null | undefined, where: string): Promise<unknown> {
    if (bytes === null || bytes === undefined) return null;
    if (bytes.length < 5 || bytes[0] !== MAGIC) {
      throw new RestError(
        500,
        50002,
        `${where} is not in Confluent's wire format (magic byte 0 and a schema id)`,
      );
    }
    const id = bytes.readInt32BE(1);
    const { schema } = await this.#registry.schema(id);
    return DIALECTS[this.#name].decodeFrame(bytes.subarray(5), schema, where);
  }
}

function frameCodec(side: { id: number; codec: Codec } | undefined): FieldCodec {
  return {
    encode(field, where) {
      if (field === null || field === undefined) return null;
      if (side === undefined) throw new RestError(422, 42202, `${where}: no schema was given for it`);
      const header = Buffer.alloc(5);
      header.writeUInt8(MAGIC, 0);
      header.writeInt32BE(side.id, 1);
      return Buffer.concat([header, side.codec.indexes ?? Buffer.alloc(0), side.codec.encode(field, where)]);
    },
    decode() {
      throw new Error('frameCodec decodes through RegistryFormat.decode');
    },
  };
}

/** The avro, jsonschema and protobuf formats over one Schema Registry URL. */
export function registryFormats(url: string): Map<SchemaFormatName, SchemaFormat> {
  const registry = new RegistryClient(url);
  return new Map<SchemaFormatName, SchemaFormat>([
    ['avro', new RegistryFormat('avro', registry)],
    ['jsonschema', new RegistryFormat('jsonschema', registry)],
    ['protobuf', new RegistryFormat('protobuf', registry)],
  ]);
}
