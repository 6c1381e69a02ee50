/**
 * The HTTP control endpoint of a test cluster (fastify), for suites in other languages:
 *
 *   GET  /cluster                      { bootstrapServers, clock, nowMs, snapshots, schemaRegistryUrl?, connectUrl?, containerBootstrapServers? }
 *   POST /reset                        back to the state after start      → { resetMs }
 *   POST /namespaces                   a new per-test prefix               → { prefix }
 *   GET  /snapshots                    the saved snapshots                 → [{ name, createdAt, brokers }]
 *   POST /snapshots/{name}             save the whole state under name     → 201 { name, createdAt, brokers }
 *   POST /snapshots/{name}/restore     replace the state with snapshot name → { name, createdAt, brokers }
 *   POST /clock/advance  { "ms": N }   move a manual clock forward         → { nowMs }
 * Three brokers (serve.ts --brokers 3) also:
 *   POST /brokers/{id}/kill|stop|restart   a fault on one node             → { nodeId, running, faults }
 *   POST /brokers/{id}/isolate { from? }   cut from peers|clients|all (default all) → the same
 *   POST /brokers/{id}/slow { ms, from? }  hold each request ms on its links → the same
 *   POST /brokers/{id}/heal                take the isolation and delay away → the same
 *   POST /brokers/{id}/pause|resume        hold every link of the node open with nothing crossing, or let it through → the same
 *   POST /clients/{clientId}/cut { node?, afterApiKey?, times? }   cut that client's connections → { clientId, nodeId, afterApiKey, remaining, made }
 *   POST /clients/{clientId}/heal          end the cut                      → the same, with the connections it cut
 *   GET  /clients                          the armed client cuts            → [the same]
 *   POST /wait/leader { topic, partition, not?, timeoutMs? }               → { leaderId }
 *   POST /wait/isr { topic, partition, size?, excludes?, includes?, timeoutMs? } → { isr }
 *
 * Errors answer `{ "error_code": CODE, "message": … }` with the status of errors.ts (400 bad
 * name or body, 404 unknown snapshot, 409 clock not manual, cluster stopped, a node already stopped
or running, a broker fault on one broker; 501 what three brokers do not serve; 504 a wait timed out). Built apart from
 * listening, so it is tested in-process as well.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { useControlErrors } from '../common/control-http.ts';
import { type ClientCutOptions, FAULT_SIDES, type FaultSide } from '../engine/fault-proxy.ts';
import { KafkaTestingError } from './errors.ts';
import type { TestKafka } from './kafka.ts';
import { TestKafkaCluster } from './kafka-cluster.ts';

/** The largest step one /clock/advance takes (one year): a typo of a few zeros is refused, not obeyed. */
export const CLOCK_ADVANCE_MS_MAX = 365 * 24 * 3_600_000;
/** Request bodies are a few fields. */
const BODY_BYTES_MAX = 4_096;

interface NameParams {
  readonly name: string;
}

interface BrokerParams {
  readonly id: string;
  readonly action: string;
}

/** The longest one /wait request may wait (10 minutes). */
export const WAIT_MS_MAX = 600_000;
const PARTITION_FIELDS = {
  topic: { type: 'string', minLength: 1, maxLength: 249 },
  partition: { type: 'integer', minimum: 0 },
  timeoutMs: { type: 'integer', minimum: 0, maximum: WAIT_MS_MAX },
} as const;
const NODE_ID = { type: 'integer', minimum: 1 } as const;

export function buildControlServer(kafka: TestKafka | TestKafkaCluster): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_BYTES_MAX });
  useControlErrors(
    app,
    (error) => error instanceof KafkaTestingError,
    'see the routes in src/testing/README.md',
  );
  app.get('/cluster', async () => ({
    bootstrapServers: kafka.bootstrapServers,
    clock: kafka.clock.kind,
    nowMs: kafka.clock.nowMs(),
    snapshots: kafka.snapshots().map((s) => s.name),
    ...(kafka.hasSchemaRegistry ? { schemaRegistryUrl: kafka.schemaRegistryUrl } : {}),
    ...(kafka instanceof TestKafkaCluster && kafka.hasConnect ? { connectUrl: kafka.connectUrl } : {}),
    ...(kafka.containerHost === undefined
      ? {}
      : { containerBootstrapServers: kafka.containerBootstrapServers }),
    ...(kafka instanceof TestKafkaCluster
      ? {
          brokers: kafka.cluster.nodeIds.map((nodeId) => ({
            nodeId,
            port: kafka.broker(nodeId).port,
            running: kafka.broker(nodeId).running,
          })),
        }
      : {}),
  }));
  const cluster = (): TestKafkaCluster => {
    if (kafka instanceof TestKafkaCluster) return kafka;
    throw new KafkaTestingError(
      'NOT_A_CLUSTER',
      'broker faults and waits need a cluster of three brokers (--brokers 3)',
    );
  };
  app.post<{ Params: BrokerParams; Body: unknown }>('/brokers/:id/:action', async (request) => {
    const three = cluster();
    const nodeId = Number(request.params.id);
    if (!/^[1-9][0-9]*$/.test(request.params.id)) {
      throw new KafkaTestingError('REQUEST_INVALID', `broker '${request.params.id}' is not a node id`);
    }
    const broker = three.broker(nodeId);
    const action = request.params.action;
    const body = faultBody(action, request.body);
    if (action === 'kill') await broker.kill();
    else if (action === 'stop') await broker.stop();
    else if (action === 'restart') await broker.restart();
    else if (action === 'isolate') broker.isolate(body.from === undefined ? {} : { from: body.from });
    else if (action === 'slow') broker.slow(body.ms ?? 0, body.from === undefined ? {} : { from: body.from });
    else if (action === 'heal') broker.heal();
    else if (action === 'pause') broker.pause();
    else if (action === 'resume') broker.resume();
    else
      throw new KafkaTestingError(
        'REQUEST_INVALID',
        `'${action}' is not a broker action: kill, stop, restart, isolate, slow, heal, pause or resume`,
      );
    return three.cluster.faultProxies
      ? { nodeId, running: broker.running, faults: broker.faults }
      : { nodeId, running: broker.running };
  });
  app.get('/clients', async () => cluster().cluster.clientCuts());
  app.post<{ Params: { clientId: string }; Body: unknown }>('/clients/:clientId/cut', async (request) =>
    cluster().cutClient(request.params.clientId, clientCutBody(request.body)),
  );
  app.post<{ Params: { clientId: string } }>('/clients/:clientId/heal', async (request) =>
    cluster().healClient(request.params.clientId),
  );
  app.post<{ Body: { topic: string; partition: number; not?: number; timeoutMs?: number } }>(
    '/wait/leader',
    {
      schema: {
        body: {
          type: 'object',
          required: ['topic', 'partition'],
          additionalProperties: false,
          properties: { ...PARTITION_FIELDS, not: NODE_ID },
        },
      },
    },
    async (request) => {
      const { topic, partition, ...options } = request.body;
      return { leaderId: await cluster().waitForLeader(topic, partition, options) };
    },
  );
  app.post<{
    Body: {
      topic: string;
      partition: number;
      size?: number;
      excludes?: number;
      includes?: number;
      timeoutMs?: number;
    };
  }>(
    '/wait/isr',
    {
      schema: {
        body: {
          type: 'object',
          required: ['topic', 'partition'],
          additionalProperties: false,
          properties: {
            ...PARTITION_FIELDS,
            size: { type: 'integer', minimum: 1 },
            excludes: NODE_ID,
            includes: NODE_ID,
          },
        },
      },
    },
    async (request) => {
      const { topic, partition, ...options } = request.body;
      return { isr: await cluster().waitForIsr(topic, partition, options) };
    },
  );
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

/** The body of a broker action: `{ from }` for isolate, `{ ms, from? }` for slow, none else. */
function faultBody(action: string, body: unknown): { from?: FaultSide; ms?: number } {
  const fields: Record<string, readonly string[]> = { isolate: ['from'], slow: ['ms', 'from'] };
  const allowed = fields[action] ?? [];
  if (body === undefined || body === null) {
    if (action === 'slow') throw new KafkaTestingError('REQUEST_INVALID', 'slow needs a body { "ms": N }');
    return {};
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new KafkaTestingError('REQUEST_INVALID', `the body of ${action} must be a JSON object`);
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw new KafkaTestingError(
        'REQUEST_INVALID',
        `${action} takes ${allowed.length === 0 ? 'no body fields' : allowed.join(', ')}, not '${key}'`,
      );
    }
  }
  const { from, ms } = record;
  if (from !== undefined && !(FAULT_SIDES as readonly unknown[]).includes(from)) {
    throw new KafkaTestingError(
      'REQUEST_INVALID',
      `from: ${JSON.stringify(from)} must be one of ${FAULT_SIDES.join(', ')}`,
    );
  }
  if (action === 'slow' && typeof ms !== 'number') {
    throw new KafkaTestingError('REQUEST_INVALID', `slow needs "ms", a whole number of milliseconds`);
  }
  return {
    ...(from === undefined ? {} : { from: from as FaultSide }),
    ...(typeof ms === 'number' ? { ms } : {}),
  };
}

/** The body of a client cut: `{ node?, afterApiKey?, times? }` (whole numbers; their ranges checked by the rules). */
function clientCutBody(body: unknown): ClientCutOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new KafkaTestingError('REQUEST_INVALID', 'the body of a client cut must be a JSON object');
  }
  const fields = { node: 'nodeId', afterApiKey: 'afterApiKey', times: 'times' } as const;
  const options: { nodeId?: number; afterApiKey?: number; times?: number } = {};
  for (const [key, value] of Object.entries(body)) {
    const option = fields[key as keyof typeof fields];
    if (option === undefined) {
      throw new KafkaTestingError(
        'REQUEST_INVALID',
        `a client cut takes node, afterApiKey, times, not '${key}'`,
      );
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new KafkaTestingError(
        'REQUEST_INVALID',
        `${key}: ${JSON.stringify(value)} is not a whole number`,
      );
    }
    options[option] = value;
  }
  return options;
}

/** Builds and listens; resolves with the server and its base URL. */
export async function startControlServer(
  kafka: TestKafka | TestKafkaCluster,
  options: { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = buildControlServer(kafka);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://${options.host}:${port}`, close: () => app.close() };
}
