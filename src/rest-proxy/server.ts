/**
 * The REST proxy's HTTP service: `buildRestProxy()` assembles the fastify app (tested in-process
 * or over a socket), `startRestProxy()` also listens. Every error leaves as Confluent's
 * `{error_code, message}` with its status; nothing a client sends produces a 500.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ConsumerManager, type ConsumerManagerOptions } from './consumers.ts';
import { notFound, payloadTooLarge, RestError, unsupportedMediaType } from './errors.ts';
import { EmbeddedFormats, type SchemaFormat, type SchemaFormatName } from './formats.ts';
import { V2_JSON } from './http.ts';
import { KafkaSide } from './kafka.ts';
import { RecordProducer } from './produce.ts';
import { registerV2 } from './routes-v2.ts';
import { registerV3, V3_RECORDS_ROUTE } from './routes-v3.ts';
import { RegistryClient, registryFormats } from './schema-formats.ts';

/** `KAFKA_REST_PROXY_PORT` in .env.example. */
export const REST_PROXY_PORT_DEFAULT = 8082;
/** Largest request body the proxy reads (`rest.request.body.max.bytes`): 64 MiB. */
export const REQUEST_BODY_MAX_BYTES_DEFAULT = 64 * 1024 * 1024;
const HOST = '127.0.0.1';

export interface RestProxyOptions extends ConsumerManagerOptions {
  /** HOST:PORT[,HOST:PORT…] of the Kafka cluster. */
  readonly bootstrap: string;
  readonly schemaRegistryUrl?: string | undefined;
  readonly requestBodyMaxBytes?: number;
  /** Timeout of each Kafka request the proxy makes. */
  readonly kafkaRequestTimeoutMs?: number;
  /** Registry-backed embedded formats; by default avro, jsonschema and protobuf over schemaRegistryUrl. */
  readonly schemaFormats?: ReadonlyMap<SchemaFormatName, SchemaFormat>;
}

export interface RestProxy {
  readonly app: FastifyInstance;
  readonly consumers: ConsumerManager;
  close(): Promise<void>;
}

function errorContentType(request: FastifyRequest): string {
  return request.url.startsWith('/v3') ? 'application/json' : V2_JSON;
}

/** Maps fastify's own errors (body limit, bad media type, bad JSON in its parsers) to Confluent's. */
function toRestError(error: FastifyError, request: FastifyRequest, bodyLimit: number): RestError {
  if (error instanceof RestError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return unsupportedMediaType(request.headers['content-type'] ?? '(none)', ['application/json']);
    default:
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return new RestError(error.statusCode, error.statusCode, error.message);
      }
      return new RestError(500, 500, `Internal Server Error: ${error.message}`);
  }
}

/** Reads a body as UTF-8 text, failing with 413 past `limitBytes`. */
async function readText(payload: AsyncIterable<Buffer>, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of payload) {
    bytes += chunk.length;
    if (bytes > limitBytes) throw payloadTooLarge(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function buildRestProxy(options: RestProxyOptions): RestProxy {
  const bodyLimit = options.requestBodyMaxBytes ?? REQUEST_BODY_MAX_BYTES_DEFAULT;
  // Confluent's documentation writes some paths with a trailing slash (POST /consumers/testgroup/).
  const app = Fastify({ bodyLimit, logger: false, routerOptions: { ignoreTrailingSlash: true } });
  // Confluent's v2 API reads a body on GET (committed offsets), so GET takes bodies here.
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true });
  app.removeAllContentTypeParsers();
  // Bodies are read whole as text (within bodyLimit), except v3 records, which are read as they
  // arrive so that a stream of records is produced and answered while it is still being sent.
  app.addContentTypeParser('*', (request, payload, done) => {
    if (request.method === 'POST' && request.routeOptions.url === V3_RECORDS_ROUTE) {
      done(null, payload);
      return;
    }
    readText(payload, bodyLimit).then(
      (text) => done(null, text),
      (error: Error) => done(error, undefined),
    );
  });

  const kafka = new KafkaSide({
    bootstrap: options.bootstrap,
    ...(options.kafkaRequestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.kafkaRequestTimeoutMs }),
  });
  const formats = new EmbeddedFormats(
    options.schemaRegistryUrl,
    options.schemaFormats ??
      (options.schemaRegistryUrl === undefined ? new Map() : registryFormats(options.schemaRegistryUrl)),
    options.schemaRegistryUrl === undefined ? undefined : new RegistryClient(options.schemaRegistryUrl),
  );
  const consumers = new ConsumerManager(kafka, formats, options);
  const producer = new RecordProducer(kafka);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = toRestError(error, request, bodyLimit);
    void reply.code(failure.status).type(errorContentType(request)).send(JSON.stringify(failure.body()));
  });
  app.setNotFoundHandler((request, reply) => {
    const failure = notFound(`${request.method} ${request.url}`);
    void reply.code(404).type(errorContentType(request)).send(JSON.stringify(failure.body()));
  });
  app.get('/', async (_request, reply) => reply.type(V2_JSON).send('{}'));
  registerV2(app, { kafka, formats, producer, consumers });
  registerV3(app, { kafka, producer, formats });

  return {
    app,
    consumers,
    async close() {
      await app.close();
      await consumers.close();
      await kafka.close();
    },
  };
}

export interface StartRestProxyOptions extends RestProxyOptions {
  /** Port on 127.0.0.1; REST_PROXY_PORT_DEFAULT when missing, 0 for any free port. */
  readonly port?: number;
  readonly host?: string;
}

/** Builds the proxy and listens; `url` is where it serves, `close()` stops it and its Kafka clients. */
export async function startRestProxy(
  options: StartRestProxyOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const proxy = buildRestProxy(options);
  try {
    await proxy.app.listen({ host: options.host ?? HOST, port: options.port ?? REST_PROXY_PORT_DEFAULT });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  const address = proxy.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://${options.host ?? HOST}:${port}`, close: () => proxy.close() };
}
