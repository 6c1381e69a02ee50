/**
 * `kstack exporter`: a Kafka client (@platformatic/kafka) that serves, on each scrape, the
 * metric names and labels of danielqsj/kafka_exporter (the Docker stack's `kafka-exporter`),
 * for any cluster: brokers, partitions with their offsets, leaders and replicas, and consumer
 * groups with their committed offsets, lag and members. As kafka_exporter does, it asks the
 * cluster when scraped; a cluster it cannot reach gives `kafka_exporter_cluster_up 0` (a
 * kstack addition) instead of stale values, and the next scrape tries again with a new client.
 */
import { Admin, type ClusterTopicMetadata } from '@platformatic/kafka';
import { Gauge, Registry } from 'prom-client';
import { describeAnyGroups } from '../common/consumer-groups.ts';
import { guardConnectionErrors } from '../common/kafka-connections.ts';
import { type MetricsServer, startMetricsServer } from '../metrics/http.ts';
import { EXPORTER_PORT_DEFAULT } from './defaults.ts';

export { EXPORTER_PORT_DEFAULT };
/** One scrape's cluster queries together may take this long before the scrape reports the cluster down. */
export const EXPORTER_COLLECT_TIMEOUT_MS = 10_000;
/** Each request to a broker may take this long (connection included). */
export const EXPORTER_REQUEST_TIMEOUT_MS = 5_000;

const LATEST = -1n;
const EARLIEST = -2n;

export interface ExporterOptions {
  /** `HOST:PORT[,HOST:PORT…]`. */
  readonly bootstrap: string;
  readonly host?: string;
  /** EXPORTER_PORT_DEFAULT when missing; 0 for any free port. */
  readonly port?: number;
  /** Told when the cluster becomes unreachable and reachable again (src/common/log.ts's Logger fits). */
  readonly log?: ExporterLog;
}

/** Where the exporter says that its cluster went down or came back (once per change, not per scrape). */
export interface ExporterLog {
  info(message: string, fields?: Record<string, string>): void;
  warn(message: string, fields?: Record<string, string>): void;
}

type Labels<T extends string> = Partial<Record<T, string | number>>;

/** The kafka_exporter families, created once; each scrape resets and refills them. */
class ExporterMetrics {
  readonly registry = new Registry();
  readonly #all: Gauge<string>[] = [];
  readonly up = this.#gauge(
    'kafka_exporter_cluster_up',
    'Whether the last scrape reached the cluster (1) or not (0); kstack addition',
    [],
  );
  readonly brokers = this.#gauge('kafka_brokers', 'Number of Brokers in the Kafka Cluster.', []);
  readonly brokerInfo = this.#gauge('kafka_broker_info', 'Information about the Kafka Broker.', [
    'address',
    'id',
  ]);
  readonly partitions = this.#gauge('kafka_topic_partitions', 'Number of partitions for this Topic', [
    'topic',
  ]);
  readonly currentOffset = this.#partitionGauge(
    'current_offset',
    'Current Offset of a Broker at Topic/Partition',
  );
  readonly oldestOffset = this.#partitionGauge(
    'oldest_offset',
    'Oldest Offset of a Broker at Topic/Partition',
  );
  readonly leader = this.#partitionGauge('leader', 'Leader Broker ID of this Topic/Partition');
  readonly replicas = this.#partitionGauge('replicas', 'Number of Replicas for this Topic/Partition');
  readonly inSyncReplicas = this.#partitionGauge(
    'in_sync_replica',
    'Number of In-Sync Replicas for this Topic/Partition',
  );
  readonly leaderIsPreferred = this.#partitionGauge(
    'leader_is_preferred',
    '1 if Topic/Partition is using the Preferred Broker',
  );
  readonly underReplicated = this.#partitionGauge(
    'under_replicated_partition',
    '1 if Topic/Partition is under Replicated',
  );
  readonly groupOffset = this.#gauge(
    'kafka_consumergroup_current_offset',
    'Current Offset of a ConsumerGroup at Topic/Partition',
    ['consumergroup', 'topic', 'partition'],
  );
  readonly groupOffsetSum = this.#gauge(
    'kafka_consumergroup_current_offset_sum',
    'Current Offset of a ConsumerGroup at Topic for all partitions',
    ['consumergroup', 'topic'],
  );
  readonly groupLag = this.#gauge(
    'kafka_consumergroup_lag',
    'Current Approximate Lag of a ConsumerGroup at Topic/Partition',
    ['consumergroup', 'topic', 'partition'],
  );
  readonly groupLagSum = this.#gauge(
    'kafka_consumergroup_lag_sum',
    'Current Approximate Lag of a ConsumerGroup at Topic for all partitions',
    ['consumergroup', 'topic'],
  );
  readonly groupMembers = this.#gauge(
    'kafka_consumergroup_members',
    'Amount of members in a consumer group',
    ['consumergroup'],
  );

  #gauge<T extends string>(name: string, help: string, labelNames: T[]): Gauge<T> {
    const gauge = new Gauge<T>({ name, help, labelNames, registers: [this.registry] });
    this.#all.push(gauge as unknown as Gauge<string>);
    return gauge;
  }

  #partitionGauge(name: string, help: string): Gauge<'topic' | 'partition'> {
    return this.#gauge(`kafka_topic_partition_${name}`, help, ['topic', 'partition']);
  }

  reset(): void {
    for (const gauge of this.#all) gauge.reset();
  }
}

function set<T extends string>(gauge: Gauge<T>, labels: Labels<T>, value: number | bigint): void {
  gauge.set(labels as Partial<Record<T, string | number>>, Number(value));
}

export class KafkaExporter {
  readonly metrics = new ExporterMetrics();
  readonly #bootstrap: string[];
  #admin: Admin | null = null;
  /** The collection in flight: concurrent scrapes share it. */
  #collecting: Promise<void> | null = null;
  /** Why the last scrape could not reach the cluster (null when it did). */
  lastError: string | null = null;
  /** Why the last scrape served no consumer group series though it reached the cluster (null: it did). */
  groupsError: string | null = null;

  readonly #log: ExporterLog | undefined;
  /** Whether the last collection reached the cluster; null before the first. */
  #reached: boolean | null = null;

  constructor(bootstrap: string, log?: ExporterLog) {
    this.#log = log;
    this.#bootstrap = bootstrap
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address !== '');
  }

  /** Refreshes every series from the cluster (one collection at a time). */
  collect(): Promise<void> {
    this.#collecting ??= this.#collectOnce().finally(() => {
      this.#collecting = null;
    });
    return this.#collecting;
  }

  async close(): Promise<void> {
    await this.#collecting?.catch(() => {});
    await this.#dropClient();
  }

  async #collectOnce(): Promise<void> {
    const { metrics } = this;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`no answer within ${EXPORTER_COLLECT_TIMEOUT_MS} ms (EXPORTER_COLLECT_TIMEOUT_MS)`),
          ),
        EXPORTER_COLLECT_TIMEOUT_MS,
      );
    });
    try {
      metrics.reset();
      await Promise.race([this.#fill(this.#client()), timeout]);
      set(metrics.up, {}, 1);
      this.lastError = null;
      if (this.#reached !== true) {
        const bootstrap = this.#bootstrap.join(',');
        this.#log?.info(`cluster ${bootstrap} ${this.#reached === null ? 'reached' : 'reachable again'}`, {
          bootstrap,
        });
      }
      this.#reached = true;
    } catch (error) {
      // Nothing half-collected is served: stale or partial values would read as facts.
      metrics.reset();
      set(metrics.up, {}, 0);
      set(metrics.brokers, {}, 0);
      this.lastError = (error as Error).message;
      if (this.#reached !== false) {
        const bootstrap = this.#bootstrap.join(',');
        this.#log?.warn(`cluster ${bootstrap} unreachable: ${this.lastError}`, { bootstrap });
      }
      this.#reached = false;
      await this.#dropClient();
    } finally {
      clearTimeout(timer);
    }
  }

  #client(): Admin {
    this.#admin ??= guardConnectionErrors(
      new Admin({
        clientId: 'kstack-exporter',
        bootstrapBrokers: this.#bootstrap,
        retries: 0,
        timeout: EXPORTER_REQUEST_TIMEOUT_MS,
        connectTimeout: EXPORTER_REQUEST_TIMEOUT_MS,
        requestTimeout: EXPORTER_REQUEST_TIMEOUT_MS,
      }),
    );
    return this.#admin;
  }

  async #dropClient(): Promise<void> {
    const admin = this.#admin;
    this.#admin = null;
    await admin?.close().catch(() => {});
  }

  async #fill(admin: Admin): Promise<void> {
    const { metrics } = this;
    // Internal topics (__consumer_offsets, …) are left out: @platformatic/kafka's metadata
    // drops them (kafka_exporter shows them).
    const names = await admin.listTopics({ includeInternals: false });
    const metadata = await admin.metadata({ topics: names, forceUpdate: true });
    const cluster = {
      brokers: metadata.brokers,
      topics: new Map(
        [...metadata.topics].filter(
          (entry): entry is [string, ClusterTopicMetadata] => entry[1] !== undefined,
        ),
      ),
    };
    set(metrics.brokers, {}, cluster.brokers.size);
    for (const [id, broker] of cluster.brokers) {
      set(metrics.brokerInfo, { address: `${broker.host}:${broker.port}`, id }, 1);
    }
    const requests = [...cluster.topics].map(([name, topic]) => ({
      name,
      partitions: topic.partitions.map((_, partitionIndex) => partitionIndex),
    }));
    const [newest, oldest] = await Promise.all(
      [LATEST, EARLIEST].map((timestamp) =>
        requests.length === 0
          ? Promise.resolve([])
          : admin.listOffsets({
              topics: requests.map((topic) => ({
                name: topic.name,
                partitions: topic.partitions.map((partitionIndex) => ({ partitionIndex, timestamp })),
              })),
            }),
      ),
    );
    const newestOffsets = new Map<string, bigint>();
    for (const topic of newest ?? []) {
      for (const partition of topic.partitions) {
        newestOffsets.set(`${topic.name}\0${partition.partitionIndex}`, partition.offset);
        set(
          metrics.currentOffset,
          { topic: topic.name, partition: partition.partitionIndex },
          partition.offset,
        );
      }
    }
    for (const topic of oldest ?? []) {
      for (const partition of topic.partitions) {
        set(
          metrics.oldestOffset,
          { topic: topic.name, partition: partition.partitionIndex },
          partition.offset,
        );
      }
    }
    for (const [name, topic] of cluster.topics) {
      set(metrics.partitions, { topic: name }, topic.partitions.length);
      topic.partitions.forEach((partition, index) => {
        const labels = { topic: name, partition: index };
        set(metrics.leader, labels, partition.leader);
        set(metrics.replicas, labels, partition.replicas.length);
        set(metrics.inSyncReplicas, labels, partition.isr.length);
        set(metrics.leaderIsPreferred, labels, partition.replicas[0] === partition.leader ? 1 : 0);
        set(metrics.underReplicated, labels, partition.isr.length < partition.replicas.length ? 1 : 0);
      });
    }
    try {
      await this.#fillGroups(admin, requests, newestOffsets);
      if (this.groupsError !== null) this.#log?.info('consumer groups listed again');
      this.groupsError = null;
    } catch (error) {
      // As kafka_exporter, which lists groups broker by broker and skips one that fails: a broker
      // down (not yet fenced, or still in Metadata) costs the groups, not the topics' series.
      for (const gauge of [
        metrics.groupOffset,
        metrics.groupOffsetSum,
        metrics.groupLag,
        metrics.groupLagSum,
        metrics.groupMembers,
      ])
        gauge.reset();
      if (this.groupsError === null) this.#log?.warn(`consumer groups left out: ${(error as Error).message}`);
      this.groupsError = (error as Error).message;
    }
  }

  /**
   * Consumer groups as kafka_exporter reports them: members from DescribeGroups; committed
   * offsets of every partition of every topic the group has committed to (a partition without a
   * commit shows offset and lag -1); lag = the partition's newest offset minus the commit.
   */
  async #fillGroups(
    admin: Admin,
    topics: readonly { name: string; partitions: number[] }[],
    newestOffsets: ReadonlyMap<string, bigint>,
  ): Promise<void> {
    const { metrics } = this;
    // Every group, as kafka_exporter: a Schema Registry's or Connect's group shows its members (their
    // bytes are not the consumer protocol, so they are counted, not decoded) and no offsets.
    const groups = [...(await admin.listGroups()).keys()].sort();
    if (groups.length === 0) return;
    const described = await describeAnyGroups(admin, groups);
    for (const [id, group] of described) set(metrics.groupMembers, { consumergroup: id }, group.members.size);
    if (topics.length === 0) return;
    const offsets = await admin.listConsumerGroupOffsets({
      groups: groups.map((groupId) => ({
        groupId,
        topics: topics.map((topic) => ({ name: topic.name, partitionIndexes: topic.partitions })),
      })),
    });
    for (const group of offsets) {
      for (const topic of group.topics) {
        if (topic.partitions.every((partition) => partition.committedOffset < 0n)) continue;
        let offsetSum = 0n;
        let lagSum = 0n;
        for (const partition of topic.partitions) {
          const labels = {
            consumergroup: group.groupId,
            topic: topic.name,
            partition: partition.partitionIndex,
          };
          const committed = partition.committedOffset;
          offsetSum += committed;
          set(metrics.groupOffset, labels, committed);
          const newest = newestOffsets.get(`${topic.name}\0${partition.partitionIndex}`);
          if (newest === undefined) continue;
          const lag = committed < 0n ? -1n : newest - committed;
          if (committed >= 0n) lagSum += lag;
          set(metrics.groupLag, labels, lag);
        }
        set(metrics.groupOffsetSum, { consumergroup: group.groupId, topic: topic.name }, offsetSum);
        set(metrics.groupLagSum, { consumergroup: group.groupId, topic: topic.name }, lagSum);
      }
    }
  }
}

export interface RunningExporter extends MetricsServer {
  readonly exporter: KafkaExporter;
}

/**
 * Starts the exporter's HTTP endpoint (`/metrics`, collected from the cluster on each scrape).
 * For `kstack up`: `startExporter({ bootstrap: '127.0.0.1:9092', port: 9308 })`.
 */
export async function startExporter(options: ExporterOptions): Promise<RunningExporter> {
  const exporter = new KafkaExporter(options.bootstrap, options.log);
  const { registry } = exporter.metrics;
  const server = await startMetricsServer({
    registry: {
      contentType: registry.contentType,
      async metrics() {
        await exporter.collect();
        return registry.metrics();
      },
    },
    host: options.host ?? '127.0.0.1',
    port: options.port ?? EXPORTER_PORT_DEFAULT,
  });
  return {
    exporter,
    url: server.url,
    port: server.port,
    async close() {
      await server.close();
      await exporter.close();
    },
  };
}
