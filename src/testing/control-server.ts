/**
 * The HTTP control endpoint of a test cluster (fastify), for suites in other languages:
 *
 *   GET  /cluster                      { bootstrapServers, clock, nowMs, snapshots }
 *   POST /reset                        back to the state after start      → { resetMs }
 *   POST /namespaces                   a new per-test prefix               → { prefix }
 *   GET  /snapshots                    the saved snapshots                 → [{ name, createdAt, brokers }]
 *   POST /snapshots/{name}             save the whole state under name     → 201 { name, createdAt, brokers }
 *   POST /snapshots/{name}/restore     replace the state with snapshot name → { name, createdAt, brokers }
 *   POST /clock/advance  { "ms": N }   move a manual clock forward         → { nowMs }
 *
 * Errors answer `{ "error_code": CODE, "message": … }` with the status of errors.ts (400 bad
 * name or body, 404 unknown snapshot, 409 clock not manual or cluster stopped). Built apart from
 * listening, so it is tested in-process as well.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { KafkaTestingError } from './errors.ts';
import type { TestKafka } from './kafka.ts';

/** The largest step one /clock/advance takes (one year): a typo of a few zeros is refused, not obeyed. */
export const CLOCK_ADVANCE_MS_MAX = 365 * 24 * 3_600_000;
/** Request bodies are a few fields. */
const BODY_BYTES_MAX = 4_096;

interface NameParams {
  readonly name: string;
}

export function buildControlServer(kafka: TestKafka): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_BYTES_MAX });
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof KafkaTestingError) {
      return reply.code(error.httpStatus).send({ error_code: error.code, message: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error_code: 'REQUEST_INVALID', message: (error as Error).message });
    }
    return reply.code(500).send({ error_code: 'INTERNAL', message: String(error) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error_code: 'NOT_FOUND',
      message: `no ${request.method} ${request.url}: see the routes in src/testing/README.md`,
    }),
  );
  app.get('/cluster', async () => ({
    bootstrapServers: kafka.bootstrapServers,
    clock: kafka.clock.kind,
    nowMs: kafka.clock.nowMs(),
    snapshots: kafka.snapshots().map((s) => s.name),
  }));
  app.post('/reset', async () => {
    await kafka.reset();
    return { resetMs: kafka.timings.lastResetMs };
  });
  app.post('/namespaces', async () => ({ prefix: kafka.namespace().prefix }));
  app.get('/snapshots', async () => kafka.snapshots());
  app.post<{ Params: NameParams }>('/snapshots/:name', async (request, reply) =>
    reply.code(201).send(await kafka.snapshot(request.params.name)),
  );
  app.post<{ Params: NameParams }>('/snapshots/:name/restore', async (request) =>
    kafka.restore(request.params.name),
  );
  app.post<{ Body: { ms: number } }>(
    '/clock/advance',
    {
      schema: {
        body: {
          type: 'object',
          required: ['ms'],
          additionalProperties: false,
          properties: { ms: { type: 'integer', minimum: 0, maximum: CLOCK_ADVANCE_MS_MAX } },
        },
      },
    },
    async (request) => {
      await kafka.clock.advance(request.body.ms);
      return { nowMs: kafka.clock.nowMs() };
    },
  );
  return app;
}

/** Builds and listens; resolves with the server and its base URL. */
export async function startControlServer(
  kafka: TestKafka,
  options: { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = buildControlServer(kafka);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://${options.host}:${port}`, close: () => app.close() };
}
