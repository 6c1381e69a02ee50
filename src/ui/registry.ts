/**
 * The UI as an HTTP client of a Confluent-compatible Schema Registry (`--schema-registry-url`):
 * subjects, versions and compatibility for the Schemas page, and writer schemas by id for decoding
 * values in Confluent's wire format. Schemas are immutable per id, so parsed ones are cached (bounded).
 */
import avro from 'avsc';
import protobuf from 'protobufjs';
import { RestError } from '../rest-proxy/errors.ts';
import type { SchemaFormat, SchemaFormatName } from '../rest-proxy/formats.ts';
import { registryFormats } from '../rest-proxy/schema-formats.ts';
import { badRequest, registryFailed } from './errors.ts';
import { messageOf, requestJson } from './http.ts';

/** Parsed writer schemas kept per registry. */
export const SCHEMA_CACHE_MAX = 1_000;
/** How long one registry request may take. */
export const REGISTRY_TIMEOUT_MS = 10_000;

export interface SchemaVersion {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schemaType: string;
  readonly schema: string;
}

/** The registry's schema types and the REST proxy's format names. */
const FORMAT_OF_SCHEMA_TYPE: Readonly<Record<string, SchemaFormatName>> = {
  AVRO: 'avro',
  JSON: 'jsonschema',
  PROTOBUF: 'protobuf',
};

/** A value in Confluent's wire format, with the schema id and version it names. */
export interface EncodedValue {
  readonly bytes: Buffer;
  readonly id: number;
  readonly version: number;
}

export type Decoded =
  | { readonly ok: true; readonly schemaType: string; readonly json: string }
  | { readonly ok: false; readonly reason: string };

/** A writer schema as the decoder needs it: Avro's type, Protobuf's top-level messages (file order), or neither (JSON). */
interface Writer {
  readonly schemaType: string;
  readonly type: avro.Type | null;
  readonly messages: protobuf.Type[] | null;
}

/** The top-level message types of a .proto schema, in file order (what Confluent's message indexes count). */
function protoMessages(schema: string): protobuf.Type[] {
  const parsed = protobuf.parse(schema, { keepCase: true });
  parsed.root.resolveAll();
  const namespace = parsed.package === undefined ? parsed.root : parsed.root.lookup(parsed.package);
  if (!(namespace instanceof protobuf.Namespace)) return [];
  return namespace.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
}

/** One zigzag varint of Confluent's Protobuf message indexes. */
function zigzag(bytes: Buffer, at: { offset: number }): number {
  let result = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    const byte = bytes[at.offset++];
    if (byte === undefined) throw new Error('the Protobuf message indexes are cut short');
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (result >>> 1) ^ -(result & 1);
  }
  throw new Error('a Protobuf message index is longer than 5 bytes');
}

/**
 * Confluent's Protobuf payload: the message indexes (a count, then each index; a count of 0 means
 * [0], the first message), then the message, decoded as JSON (protobufjs's JSON options: longs and
 * enums as strings, bytes as base64).
 */
function decodeProtobuf(messages: readonly protobuf.Type[], payload: Buffer): string {
  const at = { offset: 0 };
  const count = zigzag(payload, at);
  const path = count === 0 ? [0] : Array.from({ length: count }, () => zigzag(payload, at));
  let type: protobuf.Type | undefined = messages[path[0]!];
  for (const index of path.slice(1)) {
    type = type?.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type)[index];
  }
  if (type === undefined)
    throw new Error(`message indexes [${path.join(', ')}] name no message of the schema`);
  return JSON.stringify(
    type.toObject(type.decode(payload.subarray(at.offset)), protobuf.util.toJSONOptions),
    null,
    2,
  );
}

export class RegistryClient {
  readonly url: string;
  readonly #types = new Map<number, Writer>();
  /** The REST proxy's encoders over this registry (made on the first produce with a schema). */
  #formats: Map<SchemaFormatName, SchemaFormat> | undefined;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  #get(path: string): Promise<unknown> {
    return this.#send('GET', path, undefined);
  }

  async #send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body: unknown): Promise<unknown> {
    const { answer, text } = await requestJson({
      method,
      url: `${this.url}${path}`,
      body,
      mediaType: 'application/vnd.schemaregistry.v1+json',
      timeoutMs: REGISTRY_TIMEOUT_MS,
      unreachable: (message) => registryFailed(502, `Schema Registry ${this.url} did not answer: ${message}`),
      refused: (status, refusal, refusedText) =>
        registryFailed(status, `Schema Registry: ${messageOf(refusal, refusedText)}`),
    });
    return answer === undefined ? text : answer;
  }

  async subjects(): Promise<string[]> {
    return ((await this.#get('/subjects')) as string[]).sort();
  }

  /** The subject's versions; with `deleted`, the soft-deleted ones too (the registry's `?deleted=true`). */
  async versions(subject: string, deleted = false): Promise<number[]> {
    return (await this.#get(
      `/subjects/${encodeURIComponent(subject)}/versions${deleted ? '?deleted=true' : ''}`,
    )) as number[];
  }

  async version(subject: string, version: number, deleted = false): Promise<SchemaVersion> {
    const v = (await this.#get(
      `/subjects/${encodeURIComponent(subject)}/versions/${version}${deleted ? '?deleted=true' : ''}`,
    )) as {
      subject: string;
      version: number;
      id: number;
      schemaType?: string;
      schema: string;
    };
    return { ...v, schemaType: v.schemaType ?? 'AVRO' };
  }

  /** The subject's compatibility level, falling back to the registry's global one. */
  async compatibility(subject: string): Promise<string> {
    const answer = (await this.#get(`/config/${encodeURIComponent(subject)}?defaultToGlobal=true`)) as {
      compatibilityLevel?: string;
    };
    return answer.compatibilityLevel ?? 'unknown';
  }

  /** Registers `schema` under `subject` (the registry checks it and its compatibility): its id. */
  async register(subject: string, schemaType: string, schema: string): Promise<number> {
    const answer = (await this.#send('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schema,
      ...(schemaType === 'AVRO' ? {} : { schemaType }),
    })) as { id: number };
    return answer.id;
  }

  /** Whether `schema` could be registered as the subject's next version, with the registry's reasons (verbose). */
  async testCompatibility(
    subject: string,
    schemaType: string,
    schema: string,
  ): Promise<{ compatible: boolean; messages: string[] }> {
    const answer = (await this.#send(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema, ...(schemaType === 'AVRO' ? {} : { schemaType }) },
    )) as { is_compatible: boolean; messages?: string[] };
    return { compatible: answer.is_compatible, messages: answer.messages ?? [] };
  }

  /** Soft deletes one version, or (permanent, after a soft delete) removes it: the version deleted. */
  async deleteVersion(subject: string, version: number, permanent: boolean): Promise<number> {
    return (await this.#send(
      'DELETE',
      `/subjects/${encodeURIComponent(subject)}/versions/${version}${permanent ? '?permanent=true' : ''}`,
      undefined,
    )) as number;
  }

  /** Soft deletes the subject, or (permanent, after a soft delete) removes it: the versions deleted. */
  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return (await this.#send(
      'DELETE',
      `/subjects/${encodeURIComponent(subject)}${permanent ? '?permanent=true' : ''}`,
      undefined,
    )) as number[];
  }

  /** Sets the subject's compatibility level (the registry checks the name). */
  async setCompatibility(subject: string, level: string): Promise<string> {
    const answer = (await this.#send('PUT', `/config/${encodeURIComponent(subject)}`, {
      compatibility: level,
    })) as { compatibility?: string };
    return answer.compatibility ?? level;
  }

  /**
   * A value as Confluent's serializers write it (magic 0, the schema's 4-byte id, for Protobuf the
   * message indexes, the payload) from the JSON the page sends, through the subject's version
   * ('latest' or a number) read from the registry. The encoding is the REST proxy's
   * (src/rest-proxy/schema-formats.ts, the same formats over the same registry API): Avro's JSON
   * encoding read by avsc, a JSON Schema document checked by Ajv, Protobuf's JSON mapping (the
   * schema's first message) by protobufjs. A value the schema does not take: 400 with its reason.
   */
  async encode(subject: string, version: number | 'latest', json: string): Promise<EncodedValue> {
    const found = (await this.#get(`/subjects/${encodeURIComponent(subject)}/versions/${version}`)) as {
      id: number;
      version: number;
      schemaType?: string;
    };
    const format = FORMAT_OF_SCHEMA_TYPE[found.schemaType ?? 'AVRO'];
    if (format === undefined)
      throw badRequest(`valueSchema: ${subject} version ${found.version} is ${found.schemaType}`);
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw badRequest(`value: not JSON (${(error as Error).message})`);
    }
    this.#formats ??= registryFormats(this.url);
    try {
      const codecs = await this.#formats
        .get(format)!
        .produceCodecs({ topic: subject, valueSchemaId: found.id, hasKeys: false, hasValues: true });
      const bytes = codecs.value.encode(value, 'value')!;
      return { bytes, id: found.id, version: found.version };
    } catch (error) {
      if (!(error instanceof RestError)) throw error;
      throw error.status >= 500
        ? registryFailed(502, `Schema Registry: ${error.message}`)
        : badRequest(`value: not a value of ${subject} version ${found.version}: ${error.message}`);
    }
  }

  async #writer(id: number): Promise<Writer> {
    const cached = this.#types.get(id);
    if (cached !== undefined) return cached;
    const found = (await this.#get(`/schemas/ids/${id}`)) as { schema: string; schemaType?: string };
    const schemaType = found.schemaType ?? 'AVRO';
    const entry: Writer = {
      schemaType,
      type: schemaType === 'AVRO' ? avro.Type.forSchema(JSON.parse(found.schema) as avro.Schema) : null,
      messages: schemaType === 'PROTOBUF' ? protoMessages(found.schema) : null,
    };
    if (this.#types.size >= SCHEMA_CACHE_MAX) this.#types.delete(this.#types.keys().next().value as number);
    this.#types.set(id, entry);
    return entry;
  }

  /** Decodes Confluent's wire format (magic 0, 4-byte schema id, payload); Avro, JSON Schema and Protobuf. */
  async decode(bytes: Buffer): Promise<Decoded> {
    const id = bytes.readUInt32BE(1);
    let writer: Writer;
    try {
      writer = await this.#writer(id);
    } catch (error) {
      return { ok: false, reason: `schema id ${id}: ${(error as Error).message}` };
    }
    const payload = bytes.subarray(5);
    try {
      if (writer.type !== null) {
        const value: unknown = writer.type.fromBuffer(payload);
        return { ok: true, schemaType: writer.schemaType, json: JSON.stringify(value, avroJson, 2) };
      }
      if (writer.schemaType === 'JSON') {
        return {
          ok: true,
          schemaType: 'JSON',
          json: JSON.stringify(JSON.parse(payload.toString('utf8')), null, 2),
        };
      }
      if (writer.messages !== null) {
        return { ok: true, schemaType: 'PROTOBUF', json: decodeProtobuf(writer.messages, payload) };
      }
      return { ok: false, reason: `schema id ${id} is ${writer.schemaType}: not decoded by the UI` };
    } catch (error) {
      return { ok: false, reason: `schema id ${id}: ${(error as Error).message}` };
    }
  }
}

/** JSON for Avro values: bytes as hex, longs as numbers or strings, as avsc gives them. */
function avroJson(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return value;
}
