/**
 * Content negotiation and request bodies. Bodies arrive as text (one catch-all parser with a named
 * size limit); each route states the content types it takes and the JSON schema its body must
 * match, so a wrong type is 415, text that is not JSON is 400, JSON of the wrong shape is 422 with
 * the field named.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { malformedJson, notAcceptable, unprocessable, unsupportedMediaType } from './errors.ts';
import type { EmbeddedFormat } from './formats.ts';

export const V2_JSON = 'application/vnd.kafka.v2+json';
/** What v2 endpoints answer with, in order of preference; requests may use any of them. */
export const V2_TYPES: readonly string[] = [V2_JSON, 'application/vnd.kafka+json', 'application/json'];
export const V3_TYPES: readonly string[] = ['application/json'];

export const embeddedType = (format: EmbeddedFormat): string => `application/vnd.kafka.${format}.v2+json`;

const ajv = new Ajv({ allErrors: false, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The first offered type the Accept header allows (absent or `*\/*`: the first offered), or 406. */
export function negotiate(request: FastifyRequest, offered: readonly string[]): string {
  const header = request.headers.accept;
  if (header === undefined || header.trim() === '') return offered[0] as string;
  const ranges = header
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q === undefined ? 1 : Number(q.slice(2)) };
    })
    .filter((r) => r.q > 0);
  for (const type of offered) {
    for (const range of ranges) {
      if (range.type === '*/*' || range.type === type || range.type === `${type.split('/')[0]}/*`)
        return type;
    }
  }
  throw notAcceptable(header, offered);
}

/** Sends a JSON body with the negotiated content type. */
export function sendJson(
  reply: FastifyReply,
  contentType: string,
  status: number,
  body: unknown,
): FastifyReply {
  return reply.code(status).type(contentType).send(JSON.stringify(body));
}

export interface BodyRule {
  /** Content types the route takes (compared without parameters). */
  readonly types: readonly string[];
  /** A JSON schema the parsed body must match. */
  readonly schema: object;
  /** An empty body (or none) is allowed and reads as undefined. */
  readonly optional?: boolean;
}

/** The request body as JSON of the route's shape, or the error Confluent gives. */
export function readBody<T>(request: FastifyRequest, rule: BodyRule): T | undefined {
  const text = typeof request.body === 'string' ? request.body : '';
  if (text.trim() === '' && rule.optional === true) return undefined;
  // A body without a Content-Type reads as the route's own type: Confluent's documentation sends
  // GET …/offsets with a JSON body and only an Accept header.
  const type = mediaType(request.headers['content-type']) || (rule.types[0] ?? '');
  if (!rule.types.includes(type)) throw unsupportedMediaType(type || '(none)', rule.types);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformedJson((error as Error).message);
  }
  let validate = compiled.get(rule.schema);
  if (validate === undefined) {
    validate = ajv.compile(rule.schema);
    compiled.set(rule.schema, validate);
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const at = first?.instancePath === '' || first === undefined ? 'body' : `body${first.instancePath}`;
    throw unprocessable(`Invalid request: ${at} ${first?.message ?? 'does not match the schema'}`);
  }
  return value as T;
}

/** The content type of the request, without parameters. */
export function contentTypeOf(request: FastifyRequest): string {
  return mediaType(request.headers['content-type']);
}
