/**
 * Confluent's Schema Registry REST API on fastify, built apart from listening (`buildRegistryApp`)
 * so tests can use `app.inject`. Every error is `{error_code, message}` with Confluent's codes;
 * bodies are read as JSON whatever Confluent content type they carry; answers are
 * `application/vnd.schemaregistry.v1+json`. On a follower, the routes that change `_schemas` are
 * forwarded to the elected leader (a preHandler hook); reads are answered locally.
 */
import http from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errors, RegistryError } from './errors.ts';
import { SCHEMA_TYPES } from './formats/types.ts';
import {
  checkSubject,
  contextOf,
  parseConfigUpdate,
  parseSchemaRequest,
  parseVersion,
  type SchemaRegistry,
} from './registry.ts';

/** Largest request body accepted (a schema with its envelope); larger is 42209. */
export const SCHEMA_REQUEST_BYTES_MAX = 8 * 1024 * 1024;
export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** Marks a write a follower forwarded, so the receiver never forwards it again. */
export const FORWARDED_HEADER = 'x-kstack-forwarded-by';
/** How long a follower waits for the leader's answer to a forwarded write (it may wait for its own lock). */
export const FORWARD_TIMEOUT_MS = 60_000;
/** Most id-lookup answers kept ready (four forms per id at most); past it, answers are made per request. */
export const ID_BODIES_MAX = 100_000;
/** Routes that change `_schemas`: on a follower they are forwarded to the leader. */
const WRITE = { config: { write: true } };

type Query = Record<string, string | undefined>;
type Params = Record<string, string>;

function flag(query: Query, name: string): boolean {
  return query[name] === 'true';
}

function nonNegative(query: Query, name: string, fallback: number): number {
  const value = query[name];
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value))
    throw errors.badRequest(`query parameter ${name}='${value}' is not a whole number`);
  return Number(value);
}

function page<T>(items: T[], query: Query): T[] {
  const offset = Math.max(0, nonNegative(query, 'offset', 0));
  const limit = nonNegative(query, 'limit', -1);
  return limit < 0 ? items.slice(offset) : items.slice(offset, offset + limit);
}

function schemaId(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1) throw errors.schemaNotFound(`Schema ${text} not found`);
  return Number(text);
}

export function buildRegistryApp(registry: SchemaRegistry): FastifyInstance {
  // The serdes' hot path, GET /schemas/ids/{id}, is answered from the kept bytes before fastify
  // sees the request (fastifyHandler handles everything else, and any lookup that fails, so errors
  // keep one path): fastify's per-request objects, hooks and routing were most of what a lookup
  // allocated, and that garbage is what the young-generation collections that delay lookups scan.
  let idLookup: (idText: string, query: Query) => Buffer = () => {
    throw new Error('no routes yet');
  };
  const app = Fastify({
    bodyLimit: SCHEMA_REQUEST_BYTES_MAX,
    logger: false,
    serverFactory: (fastifyHandler) =>
      http.createServer((request, response) => {
        if (!answerIdLookup(request, response, idLookup)) fastifyHandler(request, response);
      }),
  });

  // Confluent's content types (and octet-stream, which its clients sometimes send) are JSON bodies.
  // An empty body is no body (Confluent's clients send a JSON content type with their DELETEs; the
  // routes that need a body refuse its absence themselves).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    [
      'application/json',
      'application/vnd.schemaregistry.v1+json',
      'application/vnd.schemaregistry+json',
      'application/octet-stream',
    ],
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (error) {
        const wrapped = errors.badRequest(`the body is not JSON: ${(error as Error).message}`);
        done(wrapped, undefined);
      }
    },
  );

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    let answer: RegistryError;
    if (error instanceof RegistryError) answer = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') answer = errors.tooLarge(SCHEMA_REQUEST_BYTES_MAX);
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      answer = new RegistryError(
        415,
        415,
        `unsupported content type: send ${CONTENT_TYPE} or application/json`,
      );
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      answer = errors.badRequest(error.message);
    } else answer = new RegistryError(500, 500, `internal error: ${error.message}`);
    reply.code(answer.httpStatus).type(CONTENT_TYPE).send(answer.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type(CONTENT_TYPE)
      .send({ error_code: 404, message: `HTTP 404 Not Found: ${request.method} ${request.url}` });
  });
  // A callback hook, not an async one: it runs on every answer, and a promise per request costs.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.type(CONTENT_TYPE);
    done(null, payload);
  });

  // A write on a follower is sent to the leader with the same method, path, query and body, and the
  // leader's answer is returned as it came (Confluent's forwarding); reads stay local.
  app.addHook('preHandler', async (request, reply) => {
    if ((request.routeOptions.config as { write?: boolean }).write !== true) return;
    const forwarded = request.headers[FORWARDED_HEADER] !== undefined;
    const deadline = Date.now() + registry.leaderWaitMs;
    let unreachable: string | undefined;
    for (;;) {
      const leaderUrl = await registry.writeTarget({ forwarded, deadline, unreachable });
      if (leaderUrl === null) return;
      // A leader that refuses the connection never saw the request: wait for the group to elect
      // another (a killed leader is noticed after the group's session timeout), then send it there.
      if ((await forward(registry, leaderUrl, request, reply)) === 'answered') return reply;
      unreachable = leaderUrl;
    }
  });

  const q = (request: FastifyRequest): Query => request.query as Query;
  const p = (request: FastifyRequest): Params => request.params as Params;
  const subjectOf = (request: FastifyRequest): string => checkSubject(p(request).subject ?? '');
  const raw = (reply: FastifyReply, text: string) => reply.type(CONTENT_TYPE).send(text);

  app.get('/', async () => ({}));

  app.get('/schemas/types', async () => [...SCHEMA_TYPES]);

  // ---- subjects ----
  app.get('/subjects', async (request) => {
    const query = q(request);
    return page(
      registry.subjects({
        prefix: query.subjectPrefix,
        deleted: flag(query, 'deleted'),
        deletedOnly: flag(query, 'deletedOnly'),
      }),
      query,
    );
  });

  app.post('/subjects/:subject', async (request) => {
    const query = q(request);
    return registry.lookup(subjectOf(request), parseSchemaRequest(request.body), {
      normalize: flag(query, 'normalize') || registry.normalizeByDefault(subjectOf(request)),
      deleted: flag(query, 'deleted'),
    });
  });

  app.delete('/subjects/:subject', WRITE, async (request) =>
    registry.deleteSubject(subjectOf(request), flag(q(request), 'permanent')),
  );

  app.get('/subjects/:subject/versions', async (request) => {
    const query = q(request);
    const versions = registry.versions(subjectOf(request), {
      deleted: flag(query, 'deleted') || flag(query, 'deletedAsNegative'),
      deletedOnly: flag(query, 'deletedOnly'),
    });
    if (flag(query, 'deletedAsNegative')) {
      const subject = subjectOf(request);
      return page(
        versions.map((v) => (registry.getVersion(subject, v, true).deleted ? -v : v)),
        query,
      );
    }
    return page(versions, query);
  });

  app.post('/subjects/:subject/versions', WRITE, async (request) => {
    const subject = subjectOf(request);
    const schema = parseSchemaRequest(request.body);
    const normalize = flag(q(request), 'normalize') || registry.normalizeByDefault(subject);
    const { version } = await registry.register(subject, schema, normalize);
    // Newer Confluent registries answer the registered schema, not only its id (clients'
    // registerFullResponse reads `version` and the data contracts from it).
    const { subject: _subject, ...answer } = registry.view(registry.getVersion(subject, version, true));
    return answer;
  });

  app.get('/subjects/:subject/versions/:version', async (request) => {
    const query = q(request);
    const schema = registry.getVersion(
      subjectOf(request),
      parseVersion(p(request).version ?? ''),
      flag(query, 'deleted'),
    );
    const answer = registry.view(schema);
    if (query.format === 'serialized' && schema.schemaType === 'PROTOBUF') {
      answer.schema = serialized(registry, schema);
    }
    return answer;
  });

  // The latest version whose metadata properties hold every key=value pair given (Confluent's
  // GET /subjects/{s}/metadata?key=K&value=V…, pairs in order).
  app.get('/subjects/:subject/metadata', async (request) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    const list = (name: string): string[] => {
      const value = query[name];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    };
    const keys = list('key');
    const values = list('value');
    if (keys.length !== values.length) {
      throw errors.badRequest(`${keys.length} key(s) but ${values.length} value(s): give them in pairs`);
    }
    const subject = subjectOf(request);
    const found = registry.latestWithMetadata(
      subject,
      keys.map((key, index) => [key, values[index] ?? ''] as const),
      flag(q(request), 'deleted'),
    );
    return registry.view(found);
  });

  app.get('/subjects/:subject/versions/:version/schema', async (request, reply) => {
    const schema = registry.getVersion(
      subjectOf(request),
      parseVersion(p(request).version ?? ''),
      flag(q(request), 'deleted'),
    );
    return raw(reply, schema.schema);
  });

  app.get('/subjects/:subject/versions/:version/referencedby', async (request) => {
    const subject = subjectOf(request);
    const schema = registry.getVersion(subject, parseVersion(p(request).version ?? ''), true);
    return registry.referencedBy(subject, schema.version);
  });

  app.delete('/subjects/:subject/versions/:version', WRITE, async (request) =>
    registry.deleteVersion(
      subjectOf(request),
      parseVersion(p(request).version ?? ''),
      flag(q(request), 'permanent'),
    ),
  );

  // ---- schemas by id ----
  app.get('/schemas', async (request) => {
    const query = q(request);
    const latestOnly = flag(query, 'latestOnly');
    const result = [];
    for (const subject of registry.subjects({
      prefix: query.subjectPrefix,
      deleted: flag(query, 'deleted'),
    })) {
      const versions = registry.state.versions(subject, flag(query, 'deleted'));
      for (const schema of latestOnly ? versions.slice(-1) : versions) result.push(registry.view(schema));
    }
    return page(result, query);
  });

  // An id is looked up in a context (each has its own ids): the default one, or the context of
  // the `subject` query parameter (state.ts locateId).
  const locate = (request: FastifyRequest) => locateText(p(request).id ?? '', q(request).subject);
  const locateText = (idText: string, subjectText: string | undefined) => {
    const id = schemaId(idText);
    const subject = subjectText === undefined || subjectText === '' ? undefined : checkSubject(subjectText);
    const found = registry.state.locateId(id, subject);
    if (found === undefined) {
      throw errors.schemaNotFound(
        subject === undefined ? `Schema ${id} not found` : `Schema ${id} not found in subject '${subject}'`,
      );
    }
    return { id, ...found };
  };

  // The serdes' hot path. Its answer depends only on the state, the id, the subject and two flags,
  // so each body is made once as bytes and kept until the state changes (`state.generation`): a
  // repeated lookup is a map read and a write of ready bytes, with no serialization and no
  // content-type parsing (a Buffer payload is sent as it is). Lookups with a `subject` parameter
  // are not kept (the subject is the client's text: unbounded keys).
  const idBodies = new Map<string, Buffer>();
  let idBodiesGeneration = -1;
  const idBody = (idText: string, query: Query): Buffer => {
    const serializedForm = query.format === 'serialized';
    const withMaxId = flag(query, 'fetchMaxId');
    const cacheable = query.subject === undefined || query.subject === '';
    if (idBodiesGeneration !== registry.state.generation) {
      idBodies.clear();
      idBodiesGeneration = registry.state.generation;
    }
    const key = `${idText}${serializedForm ? 's' : ''}${withMaxId ? 'm' : ''}`;
    const kept = cacheable ? idBodies.get(key) : undefined;
    if (kept !== undefined) return kept;
    const { schema, context } = locateText(idText, query.subject);
    const view = registry.view(schema);
    const answer: Record<string, unknown> = {
      ...(view.schemaType === undefined ? {} : { schemaType: view.schemaType }),
      ...(view.references === undefined ? {} : { references: view.references }),
      ...(view.metadata === undefined ? {} : { metadata: view.metadata }),
      ...(view.ruleSet === undefined ? {} : { ruleSet: view.ruleSet }),
      schema:
        serializedForm && schema.schemaType === 'PROTOBUF' ? serialized(registry, schema) : schema.schema,
    };
    if (withMaxId) answer.maxId = registry.state.maxId(context);
    const body = Buffer.from(JSON.stringify(answer));
    if (cacheable && idBodies.size < ID_BODIES_MAX) idBodies.set(key, body);
    return body;
  };
  idLookup = idBody;
  app.get('/schemas/ids/:id', (request, reply) => {
    reply.header('content-type', CONTENT_TYPE).send(idBody(p(request).id ?? '', q(request)));
  });

  app.get('/schemas/ids/:id/schema', async (request, reply) => raw(reply, locate(request).schema.schema));

  const holdersOf = (request: FastifyRequest) => {
    const { id, context } = locate(request);
    const holders = registry.state
      .holders(id, context)
      .filter((s) => flag(q(request), 'deleted') || !s.deleted);
    if (holders.length === 0) throw errors.schemaNotFound(`Schema ${id} not found`);
    return holders;
  };

  app.get('/schemas/ids/:id/subjects', async (request) =>
    [...new Set(holdersOf(request).map((s) => s.subject))].sort(),
  );

  app.get('/schemas/ids/:id/versions', async (request) =>
    holdersOf(request)
      .map((s) => ({ subject: s.subject, version: s.version }))
      .sort((a, b) => a.subject.localeCompare(b.subject) || a.version - b.version),
  );

  // ---- config ----
  // Confluent answers a config with the fields set on it (normalize only once set), and echoes the
  // fields a PUT changed.
  app.get('/config', async () => ({
    compatibilityLevel: registry.compatibility(null),
    ...registry.configOf(null),
  }));
  app.put('/config', WRITE, async (request) => registry.setConfig(null, parseConfigUpdate(request.body)));
  app.delete('/config', WRITE, async () => ({
    compatibilityLevel: await registry.deleteCompatibility(null),
  }));
  app.get('/config/:subject', async (request) => {
    const subject = subjectOf(request);
    const config = registry.configOf(subject);
    if (config !== undefined) return config;
    if (flag(q(request), 'defaultToGlobal')) {
      return { compatibilityLevel: registry.compatibility(null), ...registry.configOf(null) };
    }
    throw errors.subjectConfigNotFound(subject);
  });
  app.put('/config/:subject', WRITE, async (request) =>
    registry.setConfig(subjectOf(request), parseConfigUpdate(request.body)),
  );
  app.delete('/config/:subject', WRITE, async (request) => ({
    compatibilityLevel: await registry.deleteCompatibility(subjectOf(request)),
  }));

  // ---- mode ----
  app.get('/mode', async () => ({ mode: registry.mode(null) }));
  app.put('/mode', WRITE, async (request) => ({
    mode: await registry.setMode(
      null,
      (request.body as Record<string, unknown> | null)?.mode,
      flag(q(request), 'force'),
    ),
  }));
  app.get('/mode/:subject', async (request) => {
    const subject = subjectOf(request);
    const mode = registry.state.modes.get(subject);
    if (mode !== undefined) return { mode };
    if (flag(q(request), 'defaultToGlobal')) return { mode: registry.mode(null) };
    throw errors.subjectModeNotFound(subject);
  });
  app.put('/mode/:subject', WRITE, async (request) => ({
    mode: await registry.setMode(
      subjectOf(request),
      (request.body as Record<string, unknown> | null)?.mode,
      flag(q(request), 'force'),
    ),
  }));
  app.delete('/mode/:subject', WRITE, async (request) => ({
    mode: await registry.deleteMode(subjectOf(request)),
  }));

  // ---- compatibility ----
  const compatibility = async (request: FastifyRequest) => {
    const query = q(request);
    const subject = subjectOf(request);
    const schema = parseSchemaRequest(request.body);
    const versionText = p(request).version;
    const version = versionText === undefined ? null : parseVersion(versionText);
    const messages = registry.checkCompatibility(
      subject,
      schema,
      version,
      flag(query, 'normalize') || registry.normalizeByDefault(subject),
    );
    return flag(query, 'verbose')
      ? { is_compatible: messages.length === 0, messages }
      : { is_compatible: messages.length === 0 };
  };
  app.post('/compatibility/subjects/:subject/versions', compatibility);
  app.post('/compatibility/subjects/:subject/versions/:version', compatibility);

  // ---- contexts ----
  app.get('/contexts', async () => registry.contexts());
  app.delete('/contexts/:context', async (request, reply) => {
    const context = p(request).context ?? '';
    if ([...registry.state.subjects.keys()].some((s) => contextOf(s) === context)) {
      throw errors.contextNotEmpty(context);
    }
    return reply.code(204).send();
  });

  return app;
}

async function forward(
  registry: SchemaRegistry,
  leaderUrl: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<'answered' | 'refused'> {
  const headers: Record<string, string> = { accept: CONTENT_TYPE, [FORWARDED_HEADER]: request.hostname };
  const hasBody = request.body !== undefined && request.body !== null;
  if (hasBody) headers['content-type'] = CONTENT_TYPE;
  const authorization = request.headers.authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  let status: number;
  let contentType: string;
  let text: string;
  try {
    const response = await fetch(`${leaderUrl}${request.url}`, {
      method: request.method,
      headers,
      body: hasBody ? JSON.stringify(request.body) : undefined,
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    status = response.status;
    contentType = response.headers.get('content-type') ?? CONTENT_TYPE;
    text = await response.text();
  } catch (error) {
    if (connectionRefused(error)) return 'refused';
    throw errors.forwardingFailed(
      leaderUrl,
      (error as Error).cause === undefined
        ? (error as Error).message
        : `${(error as Error).message} (${String((error as Error).cause)})`,
    );
  }
  registry.forwarded += 1;
  // Read your writes: the change is in this instance's memory before its client hears of it.
  if (status >= 200 && status < 300) await registry.catchUp().catch(() => {});
  reply.code(status).type(contentType).send(text);
  return 'answered';
}

function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

const ID_LOOKUP_PATH = /^\/schemas\/ids\/(\d{1,10})(?:\?(.*))?$/;

/**
 * Answers `GET /schemas/ids/{id}` (any query) with the bytes `idLookup` gives; false (nothing
 * written) when the request is another, carries a body, or the lookup throws: fastify then answers
 * it, with its error when there is one.
 */
function answerIdLookup(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  idLookup: (idText: string, query: Query) => Buffer,
): boolean {
  if (request.method !== 'GET' || request.headers['content-length'] !== undefined) return false;
  if (request.headers['transfer-encoding'] !== undefined) return false;
  const match = ID_LOOKUP_PATH.exec(request.url ?? '');
  if (match === null) return false;
  let body: Buffer;
  try {
    const search = match[2];
    body = idLookup(
      match[1] ?? '',
      search === undefined ? {} : Object.fromEntries(new URLSearchParams(search)),
    );
  } catch {
    return false;
  }
  response.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': body.length });
  response.end(body);
  return true;
}

function serialized(registry: SchemaRegistry, schema: Parameters<SchemaRegistry['parseStored']>[0]): string {
  const parsed = registry.parseStored(schema) as { serialized?: string };
  return parsed.serialized === undefined || parsed.serialized === '' ? schema.schema : parsed.serialized;
}
