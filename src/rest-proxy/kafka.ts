/**
 * The proxy's side of the cluster: one Admin and one Producer (@platformatic/kafka) shared by
 * every request, and the lookups the routes need (topics, partitions, offsets, configs), with
 * Kafka's failures turned into the proxy's errors.
 */
import {
  Admin,
  apiVersionsV3,
  type ClusterMetadata,
  Connection,
  createTopicsV7,
  listPartitionReassignmentsV0,
  Producer,
} from '@platformatic/kafka';
import { guardConnectionErrors, guardOwnConnectionErrors } from '../common/kafka-connections.ts';
import {
  kafkaError,
  kafkaRetriableError,
  partitionNotFound,
  type RestError,
  topicNotFound,
} from './errors.ts';

/** Timeout of one Kafka request made by the proxy (Admin, Producer, metadata). */
export const KAFKA_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
const CONFIG_RESOURCE_TOPIC = 2;
const CONFIG_RESOURCE_BROKER = 4;
const LIST_OFFSETS_EARLIEST = -2n;
const LIST_OFFSETS_LATEST = -1n;
/** Kafka error codes the clients may retry (Kafka's RetriableException subclasses we meet here). */
const RETRIABLE_KAFKA_CODES = new Set([3, 5, 6, 7, 13, 14, 15, 16, 19, 20, 56]);

export interface PartitionInfo {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly isSensitive: boolean;
  readonly source: number;
}

/** Kafka's numeric error code carried by a @platformatic/kafka error, looking into aggregates. */
export function kafkaCodeOf(error: unknown): number | undefined {
  const e = error as { apiCode?: number; errors?: unknown[] } | null;
  if (typeof e?.apiCode === 'number') return e.apiCode;
  for (const inner of e?.errors ?? []) {
    const code = kafkaCodeOf(inner);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** The innermost message of an error (aggregates carry the useful one inside). */
export function describeKafkaError(error: unknown): string {
  const e = error as { message?: string; errors?: unknown[] } | null;
  const inner = e?.errors?.[0];
  if (inner !== undefined) return `${e?.message ?? 'error'}: ${describeKafkaError(inner)}`;
  return e?.message ?? String(error);
}

/** A Kafka failure as the proxy reports it: 50003 when Kafka says retriable, else 50002. */
export function toRestError(error: unknown): RestError {
  const code = kafkaCodeOf(error);
  const detail = describeKafkaError(error);
  return code !== undefined && RETRIABLE_KAFKA_CODES.has(code)
    ? kafkaRetriableError(detail)
    : kafkaError(detail);
}

export interface KafkaSideOptions {
  readonly bootstrap: string;
  readonly requestTimeoutMs?: number;
}

export class KafkaSide {
  readonly bootstrapBrokers: string[];
  readonly requestTimeoutMs: number;
  readonly admin: Admin;
  readonly producer: Producer;
  #clusterId: string | undefined;

  constructor(options: KafkaSideOptions) {
    this.bootstrapBrokers = options.bootstrap.split(',').map((s) => s.trim());
    this.requestTimeoutMs = options.requestTimeoutMs ?? KAFKA_REQUEST_TIMEOUT_MS_DEFAULT;
    // `timeout` is only the wait the client asks of the broker (Produce, CreateTopics); the client's
    // connections end a request the broker never answers after `requestTimeout` (30 s unless given).
    const base = {
      bootstrapBrokers: this.bootstrapBrokers,
      timeout: this.requestTimeoutMs,
      requestTimeout: this.requestTimeoutMs,
      retries: 3,
    };
    this.admin = guardConnectionErrors(new Admin({ ...base, clientId: 'kstack-rest-proxy-admin' }));
    this.producer = guardConnectionErrors(
      new Producer({ ...base, clientId: 'kstack-rest-proxy-producer', acks: -1 }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.close(), this.producer.close()]);
  }

  async #call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw toRestError(error);
    }
  }

  /**
   * CreateTopics with validate_only: Kafka checks the topic and answers the partition count and
   * replication factor it would create, creating nothing. The Admin client always sends
   * validateOnly false, so this one request goes on its own connection to the first bootstrap
   * broker (a broker forwards CreateTopics to the controller). Kafka's refusals throw as the
   * Admin's do (kafkaCodeOf reads them).
   */
  async validateCreateTopic(topic: {
    readonly name: string;
    readonly partitions: number;
    readonly replicationFactor: number;
    readonly configs: { name: string; value: string | null }[];
  }): Promise<{ partitions: number; replicationFactor: number }> {
    return this.#onOwnConnection(async (connection) => {
      const response = await createTopicsV7.api.async(
        connection,
        [
          {
            name: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: topic.replicationFactor,
            assignments: [],
            configs: topic.configs,
          },
        ],
        this.requestTimeoutMs,
        true,
      );
      const answered = response.topics[0];
      return {
        partitions: answered?.numPartitions ?? topic.partitions,
        replicationFactor: answered?.replicationFactor ?? topic.replicationFactor,
      };
    });
  }

  /**
   * The partition reassignments in progress (ListPartitionReassignments, which the Admin client
   * does not expose), of the given topics' partitions or of all (null). A cluster that does not
   * serve the API (kstack's broker before 2026-12) is a Kafka error naming it, asked first with
   * ApiVersions because a broker closes the connection on an API key it does not know.
   */
  listReassignments(
    topics: { name: string; partitionIndexes: number[] }[] | null,
  ): Promise<{ topic: string; partition: number; adding: number[]; removing: number[] }[]> {
    return this.#onOwnConnection(async (connection) => {
      const versions = await apiVersionsV3.api.async(connection, 'kstack-rest-proxy', '1');
      const served = versions.apiKeys.find((k) => k.apiKey === listPartitionReassignmentsV0.api.key);
      if (served === undefined || served.minVersion > 0)
        throw kafkaError(
          `the cluster at ${this.bootstrapBrokers[0]} does not serve ListPartitionReassignments (API key ${listPartitionReassignmentsV0.api.key}) v0`,
        );
      const response = await listPartitionReassignmentsV0.api.async(
        connection,
        this.requestTimeoutMs,
        topics,
      );
      return response.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          adding: p.addingReplicas,
          removing: p.removingReplicas,
        })),
      );
    });
  }

  /** One exchange on a connection of its own to the first bootstrap broker (a broker forwards controller APIs). */
  async #onOwnConnection<T>(use: (connection: Connection) => Promise<T>): Promise<T> {
    const address = this.bootstrapBrokers[0] ?? '';
    const colon = address.lastIndexOf(':');
    const connection = guardOwnConnectionErrors(new Connection('kstack-rest-proxy-admin'));
    try {
      await connection.connect(address.slice(0, colon), Number(address.slice(colon + 1)));
      return await use(connection);
    } finally {
      await connection.close();
    }
  }

  /** Every topic name, internal ones included (Confluent's GET /topics lists them too). */
  listTopics(): Promise<string[]> {
    return this.#call(async () => (await this.admin.listTopics({ includeInternals: true })).sort());
  }

  /** The cluster's metadata, fresh (topics given: only those; they must exist). */
  metadata(topics: readonly string[] = []): Promise<ClusterMetadata> {
    return this.#call(() =>
      this.admin.metadata({ topics: [...topics], forceUpdate: true, autocreateTopics: false }),
    );
  }

  /** The cluster's id (asked once: it never changes for a cluster). */
  async clusterId(): Promise<string> {
    this.#clusterId ??= (await this.metadata()).id;
    return this.#clusterId;
  }

  /** A topic's partitions, or 40401 when it does not exist. */
  async partitions(topic: string): Promise<PartitionInfo[]> {
    const names = await this.listTopics();
    if (!names.includes(topic)) throw topicNotFound(topic);
    const metadata = await this.metadata([topic]);
    const info = metadata.topics.get(topic);
    if (info === undefined) throw topicNotFound(topic);
    return info.partitions.map((p, index) => ({
      partition: index,
      leader: p.leader,
      replicas: p.replicas,
      isr: p.isr,
    }));
  }

  /**
   * A topic's partitions from the producer's metadata, at most its `metadataMaxAge` (5 s) old, as a
   * Kafka producer sees them: produce requests pay no metadata round trip. 40401 when it does not exist.
   */
  async partitionsForProduce(topic: string): Promise<PartitionInfo[]> {
    let metadata: ClusterMetadata;
    try {
      metadata = await this.producer.metadata({ topics: [topic], autocreateTopics: false, retries: 0 });
    } catch {
      // Not in the cache and not known to Kafka (or Kafka failed): the full lookup names which.
      return this.partitions(topic);
    }
    const info = metadata.topics.get(topic);
    if (info === undefined || info.partitions.length === 0) return this.partitions(topic);
    return info.partitions.map((p, index) => ({
      partition: index,
      leader: p.leader,
      replicas: p.replicas,
      isr: p.isr,
    }));
  }

  async partition(topic: string, partition: number): Promise<PartitionInfo> {
    const found = (await this.partitions(topic)).find((p) => p.partition === partition);
    if (found === undefined) throw partitionNotFound(topic, partition);
    return found;
  }

  topicConfigs(topic: string): Promise<ConfigEntry[]> {
    return this.#configs(CONFIG_RESOURCE_TOPIC, topic);
  }

  brokerConfigs(brokerId: number): Promise<ConfigEntry[]> {
    return this.#configs(CONFIG_RESOURCE_BROKER, String(brokerId));
  }

  async #configs(resourceType: 2 | 4, resourceName: string): Promise<ConfigEntry[]> {
    const described = await this.#call(() =>
      this.admin.describeConfigs({ resources: [{ resourceType, resourceName }] }),
    );
    return (described[0]?.configs ?? [])
      .map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : (c.value ?? null),
        readOnly: c.readOnly,
        isSensitive: c.isSensitive,
        source: c.configSource,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** First and next offsets of partitions (Kafka's ListOffsets earliest and latest). */
  async offsets(
    topic: string,
    partitions: readonly number[],
  ): Promise<Map<number, { beginning: bigint; end: bigint }>> {
    const ask = (timestamp: bigint) =>
      this.#call(() =>
        this.admin.listOffsets({
          topics: [
            { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) },
          ],
        }),
      );
    const [earliest, latest] = await Promise.all([ask(LIST_OFFSETS_EARLIEST), ask(LIST_OFFSETS_LATEST)]);
    const result = new Map<number, { beginning: bigint; end: bigint }>();
    for (const p of earliest[0]?.partitions ?? [])
      result.set(p.partitionIndex, { beginning: p.offset, end: -1n });
    for (const p of latest[0]?.partitions ?? []) {
      const entry = result.get(p.partitionIndex);
      result.set(p.partitionIndex, { beginning: entry?.beginning ?? -1n, end: p.offset });
    }
    return result;
  }
}
