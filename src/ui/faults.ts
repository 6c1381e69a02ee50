/**
 * The Faults page's server side, for a cluster `kstack up --brokers N` runs: a client of its fault
 * control endpoint (`GET /nodes`, `POST /nodes/{id}/{action}`, src/engine/fault-control.ts), a
 * watch that pushes the brokers' states, the partitions' leaders and ISR and a running producer's
 * counts as server-sent events, and that producer (acks=all, one send at a time, on a topic of RF 3)
 * so that a user sees a failover as an application does.
 */

import { Admin, type ClusterMetadata, Producer } from '@platformatic/kafka';
import type { FastifyInstance } from 'fastify';
import { guardConnectionErrors } from '../common/kafka-connections.ts';
import { FAULT_ACTIONS } from '../engine/fault-control.ts';
import type { ClusterStatus } from '../tools/status-command.ts';
import { badRequest, UiError } from './errors.ts';
import { messageOf, passedOnStatus, requestJson } from './http.ts';
import { statusFromAny, toUiError, type UiKafka } from './kafka.ts';
import { serveWatch, Watch } from './watch.ts';

/** How often the watch asks the fault control and Kafka while a page listens. */
export const FAULT_WATCH_INTERVAL_MS = 1_000;
/** The running producer sends at most one message per this interval (one in flight at a time). */
export const FAILOVER_SEND_INTERVAL_MS = 100;
/** The producer's topic when the page names none. */
export const FAILOVER_TOPIC_DEFAULT = 'ui-failover';
/** The producer's topic, when the page creates it: partitions, replication factor, min.insync.replicas. */
export const FAILOVER_TOPIC_PARTITIONS = 3;
export const FAILOVER_TOPIC_REPLICATION_FACTOR = 3;
export const FAILOVER_TOPIC_MIN_ISR = 2;
/**
 * One request of the watch and the producer to Kafka (short: a dead or paused broker must not stall
 * the page). Given as `requestTimeout` too: the client's `timeout` does not reach its connections.
 */
const WATCH_KAFKA_TIMEOUT_MS = 5_000;
/** A GET of the fault control. */
const CONTROL_READ_TIMEOUT_MS = 5_000;
/** An action: kill, stop and restart answer once the node's process has exited (a controlled shutdown takes up to 30 s). */
const CONTROL_ACTION_TIMEOUT_MS = 60_000;
/** Kafka's longest topic name. */
const TOPIC_NAME_MAX = 249;

/** One node as the fault control describes it. */
export interface FaultNode {
  readonly nodeId: number;
  readonly pid: number | null;
  readonly state: string;
  readonly registered: boolean;
  readonly restarts: number;
  readonly isolatedFrom?: string | null;
  readonly delayMs?: number;
  readonly delayFrom?: string | null;
}

export interface ProducerCounts {
  readonly running: boolean;
  readonly topic: string | null;
  readonly acknowledged: number;
  readonly failed: number;
  readonly lastError: string | null;
  readonly startedAt: number | null;
}

export interface FaultSnapshot {
  readonly at: number;
  readonly controlUrl: string | null;
  readonly nodes: FaultNode[] | null;
  readonly nodesError: string | null;
  /** Brokers in Kafka's Metadata: registered and not fenced. */
  readonly serving: { id: number; host: string; port: number }[] | null;
  readonly controllerId: number | null;
  readonly metadataError: string | null;
  readonly leaders: Record<string, number>;
  /**
   * Partitions of every topic, internal ones included (as Kafka's UnderReplicatedPartitions and the
   * Cluster page count them), from raw Metadata (kstack status's readStatus); null before any reading.
   */
  readonly underReplicated: number | null;
  readonly offline: number | null;
  /** The producer's topic (FAILOVER_TOPIC_DEFAULT before one starts), if it exists. */
  readonly topic: {
    name: string;
    partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
  } | null;
  readonly producer: ProducerCounts;
}

/** The fault control's refusals with its own code and words; 502 when it does not answer. */
export class FaultControlClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async #request<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    const { answer } = await requestJson({
      method,
      url: `${this.url}${path}`,
      body: method === 'POST' ? (body ?? {}) : undefined,
      timeoutMs,
      unreachable: (message) =>
        new UiError(
          502,
          'FAULT_CONTROL_UNREACHABLE',
          `the fault control at ${this.url} did not answer: ${message}`,
        ),
      refused: (status, refusal, text) => {
        const own = (refusal as { error_code?: unknown } | null | undefined)?.error_code;
        const code = typeof own === 'string' ? own : `HTTP_${status}`;
        return new UiError(
          passedOnStatus(status),
          `FAULT_${code}`,
          `the fault control refused: ${code}: ${messageOf(refusal, text)}`,
        );
      },
    });
    if (answer === undefined || answer === null)
      throw new UiError(502, 'FAULT_CONTROL_INVALID', `the fault control at ${this.url} answered no JSON`);
    return answer as T;
  }

  async nodes(): Promise<FaultNode[]> {
    const nodes = await this.#request<unknown>('GET', '/nodes', undefined, CONTROL_READ_TIMEOUT_MS);
    if (!Array.isArray(nodes)) {
      throw new UiError(
        502,
        'FAULT_CONTROL_INVALID',
        `${this.url}/nodes answered no list of nodes: is it a kstack fault control?`,
      );
    }
    return nodes as FaultNode[];
  }

  act(nodeId: number, action: string, body: Record<string, unknown>): Promise<FaultNode> {
    return this.#request('POST', `/nodes/${nodeId}/${action}`, body, CONTROL_ACTION_TIMEOUT_MS);
  }
}

const noFaultControl = (): UiError =>
  new UiError(
    404,
    'UI_NO_FAULT_CONTROL',
    'no fault control configured: `kstack up --brokers N` gives it to its UI; `kstack ui` takes --fault-control-url',
  );

/** acks=all, one send at a time: every answer counted as acknowledged or failed. */
class FailoverProducer {
  readonly #bootstrap: string[];
  #producer: Producer | undefined;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #counts: ProducerCounts = {
    running: false,
    topic: null,
    acknowledged: 0,
    failed: 0,
    lastError: null,
    startedAt: null,
  };

  constructor(bootstrap: string[]) {
    this.#bootstrap = bootstrap;
  }

  get counts(): ProducerCounts {
    return this.#counts;
  }

  async start(topic: string): Promise<void> {
    await this.stop();
    this.#producer ??= guardConnectionErrors(
      new Producer({
        bootstrapBrokers: this.#bootstrap,
        clientId: 'kstack-ui-failover-producer',
        timeout: WATCH_KAFKA_TIMEOUT_MS,
        requestTimeout: WATCH_KAFKA_TIMEOUT_MS,
        retries: 2,
        retryDelay: 250,
        metadataMaxAge: FAULT_WATCH_INTERVAL_MS,
      }),
    );
    const producer = this.#producer;
    const stop = new AbortController();
    this.#stop = stop;
    this.#counts = {
      running: true,
      topic,
      acknowledged: 0,
      failed: 0,
      lastError: null,
      startedAt: Date.now(),
    };
    let sequence = 0;
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        const startedAt = Date.now();
        sequence++;
        try {
          await producer.send({
            messages: [
              {
                topic,
                key: Buffer.from(String(sequence)),
                value: Buffer.from(JSON.stringify({ sequence, sentAt: startedAt })),
              },
            ],
            acks: -1,
            autocreateTopics: false,
          });
          if (!stop.signal.aborted)
            this.#counts = { ...this.#counts, acknowledged: this.#counts.acknowledged + 1 };
        } catch (error) {
          if (!stop.signal.aborted)
            this.#counts = {
              ...this.#counts,
              failed: this.#counts.failed + 1,
              lastError: toUiError(error).message,
            };
        }
        const wait = FAILOVER_SEND_INTERVAL_MS - (Date.now() - startedAt);
        if (wait > 0 && !stop.signal.aborted) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            stop.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
    this.#counts = { ...this.#counts, running: false };
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#producer?.close().catch(() => {});
  }
}

/**
 * What the Faults page shows, asked every FAULT_WATCH_INTERVAL_MS while at least one page listens
 * (one round for all of them), and at once after an action.
 */
export class FaultWatch {
  readonly control: FaultControlClient | undefined;
  readonly producer: FailoverProducer;
  /**
   * One Admin per bootstrap broker, asked in turn from the last one that answered: a client with
   * all of them kept asking the killed broker's address (its fault proxy still accepts, then
   * closes) for minutes.
   */
  readonly #admins: Admin[];
  #answering = 0;
  /** The last Metadata that came back, shown (with the error) while no broker answers. */
  #lastMetadata: ClusterMetadata | undefined;
  readonly #bootstrap: string[];
  #statusAnswering = 0;
  /** The last raw reading (every topic, internal ones included), for the partition counts. */
  #lastStatus: ClusterStatus | undefined;
  /** Pushed to the Faults pages every FAULT_WATCH_INTERVAL_MS, and at once after an action. */
  readonly pushed: Watch<FaultSnapshot> = new Watch('the Faults page', FAULT_WATCH_INTERVAL_MS, () =>
    this.#ask(),
  );

  constructor(options: { bootstrap: string; faultControlUrl: string | undefined }) {
    const bootstrap = options.bootstrap.split(',').map((s) => s.trim());
    this.#bootstrap = bootstrap;
    this.control =
      options.faultControlUrl === undefined ? undefined : new FaultControlClient(options.faultControlUrl);
    this.producer = new FailoverProducer(bootstrap);
    this.#admins = bootstrap.map((broker) =>
      guardConnectionErrors(
        new Admin({
          bootstrapBrokers: [broker],
          clientId: 'kstack-ui-fault-watch',
          timeout: WATCH_KAFKA_TIMEOUT_MS,
          requestTimeout: WATCH_KAFKA_TIMEOUT_MS,
          retries: 0,
        }),
      ),
    );
  }

  requireControl(): FaultControlClient {
    if (this.control === undefined) throw noFaultControl();
    return this.control;
  }

  async #ask(): Promise<FaultSnapshot> {
    const topicName = this.producer.counts.topic ?? FAILOVER_TOPIC_DEFAULT;
    const [nodes, metadata, status] = await Promise.allSettled([
      this.control === undefined ? Promise.reject(noFaultControl()) : this.control.nodes(),
      this.#metadata(),
      this.#status(),
    ]);
    const leaders: Record<string, number> = {};
    // The client's Metadata leaves internal topics out: the counts come from the raw reading.
    const counted = status.status === 'fulfilled' ? status.value : this.#lastStatus;
    const underReplicated = counted?.underReplicated.length ?? null;
    const offline = counted?.offline.length ?? null;
    let topic: FaultSnapshot['topic'] = null;
    const known = metadata.status === 'fulfilled' ? metadata.value : this.#lastMetadata;
    if (known !== undefined) {
      for (const id of known.brokers.keys()) leaders[id] = 0;
      for (const [name, info] of known.topics) {
        if (info === undefined) continue;
        for (const p of info.partitions) {
          if (p.leader >= 0) leaders[p.leader] = (leaders[p.leader] ?? 0) + 1;
        }
        if (name === topicName) {
          topic = {
            name,
            partitions: info.partitions.map((p, partition) => ({
              partition,
              leader: p.leader,
              replicas: [...p.replicas],
              isr: [...p.isr],
            })),
          };
        }
      }
    }
    return {
      at: Date.now(),
      controlUrl: this.control?.url ?? null,
      nodes: nodes.status === 'fulfilled' ? nodes.value : null,
      nodesError: nodes.status === 'rejected' ? toUiError(nodes.reason).message : null,
      serving:
        known === undefined
          ? null
          : [...known.brokers]
              .map(([id, b]) => ({ id, host: b.host, port: b.port }))
              .sort((a, b) => a.id - b.id),
      controllerId: known?.controllerId ?? null,
      metadataError:
        metadata.status === 'rejected'
          ? `${toUiError(metadata.reason).message}${known === undefined ? '' : ` (showing Metadata of ${new Date(known.lastUpdate).toISOString()})`}`
          : null,
      leaders,
      underReplicated,
      offline,
      topic,
      producer: this.producer.counts,
    };
  }

  /** Every topic's Metadata from the first broker that answers, starting with the last one that did. */
  async #metadata(): Promise<ClusterMetadata> {
    let failure: unknown;
    for (let i = 0; i < this.#admins.length; i++) {
      const at = (this.#answering + i) % this.#admins.length;
      const admin = this.#admins[at]!;
      try {
        const names = await admin.listTopics({ includeInternals: true });
        const metadata = await admin.metadata({ topics: names, forceUpdate: true, autocreateTopics: false });
        this.#answering = at;
        this.#lastMetadata = { ...metadata, lastUpdate: Date.now() };
        return metadata;
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  }

  /** kstack status's raw reading (every topic, internal ones included), one broker at a time from the last that answered. */
  async #status(): Promise<ClusterStatus> {
    const { status, answered } = await statusFromAny(
      this.#bootstrap,
      this.#statusAnswering,
      WATCH_KAFKA_TIMEOUT_MS,
    );
    this.#statusAnswering = answered;
    this.#lastStatus = status;
    return status;
  }

  async close(): Promise<void> {
    this.pushed.close();
    await this.producer.close();
    await Promise.allSettled(this.#admins.map((admin) => admin.close()));
  }
}

function topicName(value: unknown): string {
  if (value === undefined || value === null || value === '') return FAILOVER_TOPIC_DEFAULT;
  if (typeof value !== 'string' || value.length > TOPIC_NAME_MAX) {
    throw badRequest(`topic: a topic name of 1 to ${TOPIC_NAME_MAX} characters is required`);
  }
  return value;
}

function object(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`${what}: the body must be a JSON object`);
  return body as Record<string, unknown>;
}

/**
 * The Faults API: `GET /api/faults` (one snapshot), `GET /api/faults/events` (server-sent `status`
 * events, one per round), `POST /api/faults/nodes/:id/:action` (the fault control's action, its
 * body passed on: `{restart}` for kill, `{from}` for isolate, `{delayMs, from}` for slow),
 * `POST /api/faults/producer` (`{topic?}`: created with RF 3 when missing, then one acks=all send
 * at a time) and `POST /api/faults/producer/stop`.
 */
export function registerFaultApi(app: FastifyInstance, watch: FaultWatch, kafka: UiKafka): void {
  app.get('/api/faults', () => watch.pushed.get());
  serveWatch(app, '/api/faults/events', 'status', watch.pushed);

  app.post<{ Params: { id: string; action: string } }>('/api/faults/nodes/:id/:action', async (request) => {
    const control = watch.requireControl();
    const { id, action } = request.params;
    if (!/^\d{1,9}$/.test(id)) throw badRequest(`node id: '${id}' is not a node id`);
    if (!(FAULT_ACTIONS as readonly string[]).includes(action)) {
      throw badRequest(`action: '${action}' is not one of ${FAULT_ACTIONS.join(', ')}`);
    }
    const node = await control.act(Number(id), action, object(request.body, action));
    void watch.pushed.push().catch(() => {});
    return node;
  });

  app.post('/api/faults/producer', async (request, reply) => {
    const topic = topicName(object(request.body, 'start producer').topic);
    const names = await kafka.listTopics();
    let created = false;
    if (!names.includes(topic)) {
      await kafka.createTopic(topic, FAILOVER_TOPIC_PARTITIONS, FAILOVER_TOPIC_REPLICATION_FACTOR, {
        'min.insync.replicas': String(FAILOVER_TOPIC_MIN_ISR),
      });
      created = true;
    }
    await watch.producer.start(topic);
    void watch.pushed.push().catch(() => {});
    return reply.code(201).send({ topic, created, producer: watch.producer.counts });
  });

  app.post('/api/faults/producer/stop', async () => {
    await watch.producer.stop();
    void watch.pushed.push().catch(() => {});
    return { producer: watch.producer.counts };
  });
}
