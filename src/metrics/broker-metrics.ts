/**
 * A broker's Prometheus metrics under the names and labels that the Docker stack's JMX
 * exporter rules (infra/05-messaging/kafka/jmx-exporter/kafka-broker.yml) give Kafka's
 * MBeans, so dashboards written for that stack work on the embedded engine. The names
 * were read from a real Kafka 4.1.1 broker running that agent and those rules
 * (test/metrics/jmx-names.test.ts compares both). Counters are kept by prom-client;
 * gauges are computed from the broker's metadata and logs when Prometheus scrapes.
 */
import { type ELDHistogram, performance } from 'node:perf_hooks';
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  type MetricType,
  Registry,
} from 'prom-client';
import type { ConnectionInfo } from '../broker/handler.ts';
import type { BrokerObserver } from '../broker/observer.ts';
import type { LocalReplica } from '../broker/partition.ts';
import type { BrokerConfigView, MetadataView, PartitionRegistry } from '../broker/services.ts';
import { onKafkaEvent } from '../common/events.ts';
import { apis } from '../protocol/index.ts';
import type { DispatchResult, RequestDispatcher } from '../server/server.ts';
import {
  LOOP_DELAY_STAT_FAMILIES,
  LOOP_LAG_FAMILY,
  PROM_CLIENT_LOOP_DELAY_PRECISION_MS,
  registerLoopDelayStats,
  registerLoopLag,
  startLoopDelay,
} from './loop-delay.ts';
import { LatencyReservoir, QUANTILES } from './reservoir.ts';
import { versioned } from './worker-render.ts';

/** What the metrics read from a running broker when scraped (`Broker` implements it). */
export interface BrokerMetricsSource {
  readonly nodeId: number;
  readonly config: BrokerConfigView;
  metadata(): MetadataView;
  readonly partitions: PartitionRegistry;
}

/** Kafka's `BrokerState` value for a broker serving requests (RUNNING). */
const BROKER_STATE_RUNNING = 3;
const FETCH_API_KEY = 1;

const QUANTILE_VALUES = QUANTILES.map(([, quantile]) => quantile);

type CounterChild = { inc(value?: number): void };

/** The per-topic BrokerTopicMetrics meters: Kafka's MBean name, the rule's name with `persec`. */
const TOPIC_METERS = ['messagesin', 'bytesin', 'bytesout', 'totalproducerequests'] as const;
type TopicMeter = (typeof TOPIC_METERS)[number];

export class BrokerMetrics implements BrokerObserver {
  readonly registry = new Registry();
  /**
   * The broker loop's delay histogram behind the `nodejs_eventloop_lag_*` statistics (with the
   * default metrics; null without): `serveBrokerMetrics` hands it to the serving worker, which
   * reads it there (see loop-delay.ts).
   */
  readonly loopDelay: ELDHistogram | null = null;
  #source: BrokerMetricsSource | null = null;
  readonly #allTopics = new Map<TopicMeter, Counter>();
  readonly #perTopic = new Map<TopicMeter, Counter<'topic'>>();
  readonly #perTopicChildren = new Map<string, CounterChild>();
  /** `kafka_network_requestmetrics_requestspersec_request_<api>_total{version}`, one family per API. */
  readonly #requestCounters = new Map<string, Counter<'version'>>();
  readonly #requestChildren = new Map<number, CounterChild[]>();
  /** Requests counted in each of those families: its version (see `versioned`). */
  readonly #requestCounted = new Map<string, { requests: number }>();
  readonly #latency = new Map<string, LatencyReservoir>();
  #loopUtilization = performance.eventLoopUtilization();
  readonly #isrShrinks: Counter;
  readonly #isrExpands: Counter;
  #unsubscribe: (() => void) | null = null;
  /**
   * Versions of what the families read (see `versioned` in worker-render.ts): bumped where the
   * broker counts, so a collect skips the families nothing changed since it last read them.
   */
  #topicCounts = 0;
  /** Requests answered, all APIs: the version of the latency quantiles' family. */
  #requestCounts = 0;
  #isrCounts = 0;
  /** Bumped on attach: a new source's image ids say nothing of the last one's. */
  #sourceEpoch = 0;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: PROM_CLIENT_LOOP_DELAY_PRECISION_MS,
      });
      // prom-client's delay gauges read their statistics in the lag gauge's collect, on this
      // thread: ours read the same figures from a histogram the serving worker can read too.
      for (const name of [LOOP_LAG_FAMILY, ...LOOP_DELAY_STAT_FAMILIES])
        this.registry.removeSingleMetric(name);
      this.loopDelay = startLoopDelay();
      registerLoopLag(this.registry);
      registerLoopDelayStats(this.registry, this.loopDelay);
    }
    for (const meter of TOPIC_METERS) {
      // Kafka's all-topics meter has no topic tag; the rule for it drops the `PerSec` suffix.
      if (meter !== 'totalproducerequests') {
        this.#allTopics.set(
          meter,
          versioned(
            new Counter({
              name: `kafka_server_brokertopicmetrics_${meter}_total`,
              help: `Kafka BrokerTopicMetrics ${meter}PerSec, all topics`,
              registers: [this.registry],
            }),
            () => String(this.#topicCounts),
          ),
        );
      }
      const metrics = this;
      this.#perTopic.set(
        meter,
        versioned(
          new Counter({
            name: `kafka_server_brokertopicmetrics_${meter}persec_total`,
            help: `Kafka BrokerTopicMetrics ${meter}PerSec per topic`,
            labelNames: ['topic'],
            registers: [this.registry],
            collect() {
              metrics.#dropDeletedTopics(meter, this);
            },
          }),
          // A deleted topic's series go when the image no longer has it.
          () => `${this.#topicCounts}:${this.#imageVersion()}`,
        ),
      );
    }
    // Counted on the partition's leader when the controller commits the ISR it asked for
    // (AlterPartition), as Kafka's Partition does; one broker never changes an ISR, and the
    // series exist (at 0) so dashboards find them.
    const isrCounter = (name: string, help: string) =>
      versioned(
        new Counter({ name: `kafka_server_replicamanager_${name}_total`, help, registers: [this.registry] }),
        () => String(this.#isrCounts),
      );
    this.#isrShrinks = isrCounter(
      'isrshrinks',
      'Kafka ReplicaManager IsrShrinksPerSec: ISR shrinks of led partitions',
    );
    this.#isrExpands = isrCounter(
      'isrexpands',
      'Kafka ReplicaManager IsrExpandsPerSec: ISR expansions of led partitions',
    );
    isrCounter('failedisrupdates', 'Kafka ReplicaManager FailedIsrUpdatesPerSec');
    this.#registerRequestLatency();
    this.#registerBrokerGauges();
    this.#registerPartitionGauges();
  }

  /** Called once the broker exists (the metrics are created before it, to be passed in as its observer). */
  attach(source: BrokerMetricsSource): void {
    this.#source = source;
    this.#sourceEpoch++;
    this.#unsubscribe?.();
    // Several nodes may share the process (and the channel): count only this broker's.
    this.#unsubscribe = onKafkaEvent('isr-change', (event) => {
      if (event.nodeId !== source.nodeId) return;
      if (event.isrAfter.length < event.isrBefore.length) this.#isrShrinks.inc();
      else if (event.isrAfter.length > event.isrBefore.length) this.#isrExpands.inc();
      this.#isrCounts++;
    });
  }

  /**
   * The version of everything computed from the metadata image alone: images are immutable (a
   * new topic, partition, leader, ISR, registration or config comes with a new one), so its
   * identity tells whether those gauges could differ from when they were last read.
   */
  #imageVersion(): string {
    const source = this.#source;
    return source === null ? 'detached' : `${this.#sourceEpoch}:${imageId(source.metadata())}`;
  }

  /** Stops listening to the broker's events (its gauges keep reading it until dropped). */
  detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  appended(topic: string, records: number, bytes: number): void {
    this.#topicCounts++;
    this.#allTopics.get('messagesin')!.inc(records);
    this.#allTopics.get('bytesin')!.inc(bytes);
    this.#topic('messagesin', topic).inc(records);
    this.#topic('bytesin', topic).inc(bytes);
    this.#topic('totalproducerequests', topic).inc();
  }

  read(topic: string, bytes: number): void {
    this.#topicCounts++;
    this.#allTopics.get('bytesout')!.inc(bytes);
    this.#topic('bytesout', topic).inc(bytes);
  }

  /**
   * Counts and times the requests the broker answers (malformed or refused ones, whose
   * connection is closed, are not counted), from dispatch to the answer being ready.
   */
  observeRequests(inner: RequestDispatcher): RequestDispatcher {
    return {
      dispatch: (frame: Buffer, connection: ConnectionInfo) => {
        const startMs = performance.now();
        const outcome = inner.dispatch(frame, connection);
        if (frame.length < 4) return outcome;
        const apiKey = frame.readInt16BE(0);
        const apiVersion = frame.readInt16BE(2);
        if (outcome instanceof Promise) {
          return outcome.then((result: DispatchResult) => {
            if (result.close !== true) this.#requestDone(apiKey, apiVersion, performance.now() - startMs);
            return result;
          });
        }
        if (outcome.close !== true) this.#requestDone(apiKey, apiVersion, performance.now() - startMs);
        return outcome;
      },
    };
  }

  /** Kafka removes a topic's meters when the topic is deleted; so do we, when scraped. */
  #dropDeletedTopics(meter: TopicMeter, counter: Counter<'topic'>): void {
    const metadata = this.#source?.metadata();
    if (metadata === undefined) return;
    const prefix = `${meter}\0`;
    for (const key of this.#perTopicChildren.keys()) {
      if (!key.startsWith(prefix)) continue;
      const topic = key.slice(prefix.length);
      if (metadata.topic(topic) !== undefined) continue;
      counter.remove(topic);
      this.#perTopicChildren.delete(key);
    }
  }

  #topic(meter: TopicMeter, topic: string): CounterChild {
    const key = `${meter}\0${topic}`;
    let child = this.#perTopicChildren.get(key);
    if (child === undefined) {
      child = this.#perTopic.get(meter)!.labels(topic);
      this.#perTopicChildren.set(key, child);
    }
    return child;
  }

  /** Requests per API and version, and their total time (Kafka's RequestMetrics). */
  #requestDone(apiKey: number, apiVersion: number, elapsedMs: number): void {
    const api = apis.get(apiKey);
    // Only versions of the specification get a series: a client cannot grow the label set at will
    // (an ApiVersions request of an unknown version is answered, not closed).
    if (api === undefined || apiVersion < api.validVersions.min || apiVersion > api.validVersions.max) return;
    let children = this.#requestChildren.get(apiKey);
    if (children === undefined) {
      children = [];
      this.#requestChildren.set(apiKey, children);
    }
    let child = children[apiVersion];
    if (child === undefined) {
      // Kafka counts a consumer's Fetch under both `Fetch` and `FetchConsumer` (no followers here).
      const names = apiKey === FETCH_API_KEY ? [api.name, 'FetchConsumer'] : [api.name];
      const counters = names.map((name) => this.#requestCounter(name).labels(String(apiVersion)));
      const counted = names.map((name) => this.#requestCounted.get(name)!);
      child = {
        inc: () => {
          for (const counter of counters) counter.inc();
          // Each API's family has its own version: a Produce does not make a collect read Metadata's.
          for (const one of counted) one.requests++;
        },
      };
      children[apiVersion] = child;
    }
    child.inc();
    this.#requestCounts++;
    this.#reservoir(api.name).add(elapsedMs);
    if (apiKey === FETCH_API_KEY) this.#reservoir('FetchConsumer').add(elapsedMs);
  }

  #requestCounter(name: string): Counter<'version'> {
    let counter = this.#requestCounters.get(name);
    if (counter === undefined) {
      const counted = { requests: 0 };
      this.#requestCounted.set(name, counted);
      counter = versioned(
        new Counter({
          name: `kafka_network_requestmetrics_requestspersec_request_${name.toLowerCase()}_total`,
          help: `Kafka RequestMetrics RequestsPerSec for ${name} requests, by version`,
          labelNames: ['version'],
          registers: [this.registry],
        }),
        () => String(counted.requests),
      );
      this.#requestCounters.set(name, counter);
    }
    return counter;
  }

  #reservoir(name: string): LatencyReservoir {
    let reservoir = this.#latency.get(name);
    if (reservoir === undefined) {
      reservoir = new LatencyReservoir();
      this.#latency.set(name, reservoir);
    }
    return reservoir;
  }

  #registerRequestLatency(): void {
    const gauge = new RequestLatencyGauge({
      name: 'kafka_network_requestmetrics_totaltimems',
      help: 'Kafka RequestMetrics TotalTimeMs: quantiles of recent requests (ms) and, without quantile, the count',
      labelNames: ['request', 'quantile'],
      registers: [this.registry],
      reservoirs: this.#latency,
    });
    versioned(gauge, () => String(this.#requestCounts));
  }

  /**
   * One gauge computed at scrape time from the current metadata image (versioned by the image),
   * or, `fromImage` false, from what changes without it (read at every collect).
   */
  #gauge(name: string, help: string, value: (source: BrokerMetricsSource) => number, fromImage = true): void {
    const metrics = this;
    const gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const source = metrics.#source;
        if (source !== null) this.set(value(source));
      },
    });
    if (fromImage) versioned(gauge, () => this.#imageVersion());
  }

  #registerBrokerGauges(): void {
    const led = (source: BrokerMetricsSource) =>
      partitionsOf(source).filter((p) => p.leaderId === source.nodeId);
    this.#gauge(
      'kafka_server_replicamanager_partitioncount',
      'Kafka ReplicaManager PartitionCount',
      (s) => partitionsOf(s).filter((p) => p.replicas.includes(s.nodeId)).length,
    );
    this.#gauge(
      'kafka_server_replicamanager_leadercount',
      'Kafka ReplicaManager LeaderCount',
      (s) => led(s).length,
    );
    this.#gauge(
      'kafka_server_replicamanager_underreplicatedpartitions',
      'Kafka ReplicaManager UnderReplicatedPartitions: led partitions whose ISR is smaller than their replicas',
      (s) => led(s).filter((p) => p.isr.length < p.replicas.length).length,
    );
    this.#gauge(
      'kafka_server_replicamanager_underminisrpartitioncount',
      'Kafka ReplicaManager UnderMinIsrPartitionCount',
      (s) => led(s).filter((p) => p.isr.length < p.minIsr).length,
    );
    this.#gauge(
      'kafka_server_replicamanager_atminisrpartitioncount',
      'Kafka ReplicaManager AtMinIsrPartitionCount',
      (s) => led(s).filter((p) => p.isr.length === p.minIsr).length,
    );
    this.#gauge(
      'kafka_server_replicamanager_offlinereplicacount',
      'Kafka ReplicaManager OfflineReplicaCount',
      () => 0,
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_activecontrollercount',
      'Kafka KafkaController ActiveControllerCount: 1 on the active controller',
      (s) => (s.metadata().controllerId === s.nodeId ? 1 : 0),
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_offlinepartitionscount',
      'Kafka KafkaController OfflinePartitionsCount: partitions without a leader',
      (s) => partitionsOf(s).filter((p) => p.leaderId < 0).length,
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_globaltopiccount',
      'Kafka KafkaController GlobalTopicCount',
      (s) => [...s.metadata().topics()].length,
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_globalpartitioncount',
      'Kafka KafkaController GlobalPartitionCount',
      (s) => partitionsOf(s).length,
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_activebrokercount',
      'Kafka KafkaController ActiveBrokerCount: registered brokers not fenced',
      (s) =>
        s
          .metadata()
          .brokers()
          .filter((b) => !isFenced(s, b.nodeId)).length,
    );
    this.#gauge(
      'kafka_controller_kafkacontroller_fencedbrokercount',
      'Kafka KafkaController FencedBrokerCount: registered brokers fenced (no heartbeat within the session timeout, or shut down)',
      (s) =>
        s
          .metadata()
          .brokers()
          .filter((b) => isFenced(s, b.nodeId)).length,
    );
    this.#gauge(
      'kafka_server_kafkaserver_brokerstate',
      'Kafka KafkaServer BrokerState (3: RUNNING)',
      () => BROKER_STATE_RUNNING,
    );
    this.#gauge(
      'kafka_network_socketserver_networkprocessoravgidlepercent',
      'Kafka SocketServer NetworkProcessorAvgIdlePercent: here the idle share of the event loop (one thread does network and requests) since the last scrape',
      () => {
        const since = performance.eventLoopUtilization(this.#loopUtilization);
        this.#loopUtilization = performance.eventLoopUtilization();
        return 1 - since.utilization;
      },
      false,
    );
  }

  /** Per-partition gauges of the local logs (`kafka_log_log_*`) and of led partitions (`kafka_cluster_partition_*`). */
  #registerPartitionGauges(): void {
    /** `fromImage`: the values are the image's (versioned by it), not the logs' (read at every collect). */
    const perPartition = (
      name: string,
      help: string,
      value: (p: PartitionFacts) => number | null,
      fromImage = false,
    ) => {
      const gauge = new PartitionGauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers: [this.registry],
        partitions: () => (this.#source === null ? [] : partitionsOf(this.#source)),
        value,
      });
      if (fromImage) versioned(gauge, () => this.#imageVersion());
    };
    const local = (read: (replica: LocalReplica) => number) => (p: PartitionFacts) =>
      p.replica === undefined ? null : read(p.replica);
    perPartition(
      'kafka_log_log_size',
      'Kafka Log Size: bytes of the partition log on disk',
      local((r) => r.log.sizeBytes),
    );
    perPartition(
      'kafka_log_log_logendoffset',
      'Kafka Log LogEndOffset',
      local((r) => r.log.logEndOffset),
    );
    perPartition(
      'kafka_log_log_logstartoffset',
      'Kafka Log LogStartOffset',
      local((r) => r.log.logStartOffset),
    );
    perPartition(
      'kafka_log_log_numlogsegments',
      'Kafka Log NumLogSegments',
      local((r) => r.log.segmentCount),
    );
    const leader = (read: (p: PartitionFacts) => number) => (p: PartitionFacts) =>
      p.leaderId === p.nodeId ? read(p) : null;
    perPartition(
      'kafka_cluster_partition_underreplicated',
      'Kafka Partition UnderReplicated (1 when the ISR is smaller than the replicas)',
      leader((p) => (p.isr.length < p.replicas.length ? 1 : 0)),
      true,
    );
    perPartition(
      'kafka_cluster_partition_insyncreplicascount',
      'Kafka Partition InSyncReplicasCount',
      leader((p) => p.isr.length),
      true,
    );
    perPartition(
      'kafka_cluster_partition_replicascount',
      'Kafka Partition ReplicasCount',
      leader((p) => p.replicas.length),
      true,
    );
    perPartition(
      'kafka_cluster_partition_underminisr',
      'Kafka Partition UnderMinIsr',
      leader((p) => (p.isr.length < p.minIsr ? 1 : 0)),
      true,
    );
    perPartition(
      'kafka_cluster_partition_atminisr',
      'Kafka Partition AtMinIsr',
      leader((p) => (p.isr.length === p.minIsr ? 1 : 0)),
      true,
    );
  }
}

/** The series labels of one request type's latency: its count, then each quantile. */
interface LatencyLabels {
  readonly count: { readonly request: string };
  readonly quantiles: readonly { readonly request: string; readonly quantile: string }[];
}

/**
 * Each request type's latency count and quantiles, exposed as `untyped`, as the JMX exporter
 * exposes Kafka's histogram percentiles: a `gauge` with a `quantile` label is a lint error for
 * `promtool check metrics`, and these are quantiles computed by the broker, not a Prometheus
 * summary. The values come straight from the reservoirs with labels built once per request type
 * (setting ~90 series through `Gauge.set`, label validation and hashing each, was half the
 * family's cost); the text is that of a `Gauge` reset and set in the same order.
 */
class RequestLatencyGauge extends Gauge<'request' | 'quantile'> {
  readonly #reservoirs: ReadonlyMap<string, LatencyReservoir>;
  readonly #labels = new Map<string, LatencyLabels>();

  constructor(
    configuration: GaugeConfiguration<'request' | 'quantile'> & {
      reservoirs: ReadonlyMap<string, LatencyReservoir>;
    },
  ) {
    const { reservoirs, ...gauge } = configuration;
    super(gauge);
    this.#reservoirs = reservoirs;
  }

  #labelsOf(request: string): LatencyLabels {
    let labels = this.#labels.get(request);
    if (labels === undefined) {
      labels = { count: { request }, quantiles: QUANTILES.map(([quantile]) => ({ request, quantile })) };
      this.#labels.set(request, labels);
    }
    return labels;
  }

  override async get() {
    const values: { value: number; labels: Record<string, string> }[] = [];
    for (const [request, reservoir] of this.#reservoirs) {
      const labels = this.#labelsOf(request);
      values.push({ value: reservoir.count, labels: labels.count });
      const quantiles = reservoir.quantiles(QUANTILE_VALUES);
      labels.quantiles.forEach((series, index) => {
        values.push({ value: quantiles[index]!, labels: series });
      });
    }
    // The base gauge holds no series (nothing sets it): its answer gives the name and help.
    return { ...(await super.get()), type: 'untyped' as unknown as MetricType, values };
  }
}

/**
 * A gauge with one series per partition, read straight from the partitions' facts when scraped.
 * Setting 253 partitions' series through `Gauge.set` (label validation and hashing per series)
 * cost a family about as much as formatting it; the labels here are built once per metadata
 * image, with the facts. Its text is the same as a `Gauge` reset and set in the facts' order.
 */
class PartitionGauge extends Gauge<'topic' | 'partition'> {
  readonly #partitions: () => readonly PartitionFacts[];
  readonly #value: (p: PartitionFacts) => number | null;

  constructor(
    configuration: GaugeConfiguration<'topic' | 'partition'> & {
      partitions: () => readonly PartitionFacts[];
      value: (p: PartitionFacts) => number | null;
    },
  ) {
    const { partitions, value, ...gauge } = configuration;
    super(gauge);
    this.#partitions = partitions;
    this.#value = value;
  }

  override async get() {
    const values: { value: number; labels: PartitionFacts['labels'] }[] = [];
    for (const facts of this.#partitions()) {
      const value = this.#value(facts);
      if (value !== null) values.push({ value, labels: facts.labels });
    }
    // The base gauge holds no series (nothing sets it): its answer gives the name, help and type.
    return { ...(await super.get()), values };
  }
}

/** Each metadata image's id (see `#imageVersion`): images are immutable, so one id stands for its contents. */
const imageIds = new WeakMap<MetadataView, number>();
let nextImageId = 0;

function imageId(image: MetadataView): number {
  let id = imageIds.get(image);
  if (id === undefined) {
    id = nextImageId++;
    imageIds.set(image, id);
  }
  return id;
}

/** A cluster's metadata image also knows each broker's registration (src/broker/metadata-image.ts). */
interface RegistrationView {
  brokerEpoch(brokerId: number): number;
  isFenced(brokerId: number): boolean;
}

/**
 * Whether the image says `brokerId` is registered and fenced. A one-broker image has no
 * registrations (its broker is never fenced), so only a registered broker can be fenced.
 */
function isFenced(source: BrokerMetricsSource, brokerId: number): boolean {
  const image = source.metadata() as MetadataView & Partial<RegistrationView>;
  if (image.brokerEpoch === undefined || image.isFenced === undefined) return false;
  return image.brokerEpoch(brokerId) >= 0 && image.isFenced(brokerId);
}

interface PartitionFacts {
  readonly nodeId: number;
  readonly topic: string;
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly minIsr: number;
  readonly replica: LocalReplica | undefined;
  /** The series labels of the partition's gauges. */
  readonly labels: { readonly topic: string; readonly partition: string };
}

/**
 * The facts of every partition, computed once per metadata image (images are immutable, and a
 * config change or a new replica comes with a new image): a scrape reads them for 20 families.
 */
const factsByImage = new WeakMap<MetadataView, PartitionFacts[]>();

function partitionsOf(source: BrokerMetricsSource): PartitionFacts[] {
  const image = source.metadata();
  const known = factsByImage.get(image);
  if (known !== undefined) return known;
  const facts: PartitionFacts[] = [];
  const brokerMinIsr = source.config.getNumber('min.insync.replicas');
  for (const topic of image.topics()) {
    const minIsr = Number(topic.configs.get('min.insync.replicas') ?? brokerMinIsr);
    for (const partition of topic.partitions) {
      const replica = source.partitions.get(topic.name, partition.partitionIndex) as LocalReplica | undefined;
      facts.push({
        nodeId: source.nodeId,
        topic: topic.name,
        partitionIndex: partition.partitionIndex,
        leaderId: partition.leaderId,
        replicas: partition.replicas,
        isr: partition.isr,
        minIsr,
        replica,
        labels: { topic: topic.name, partition: String(partition.partitionIndex) },
      });
    }
  }
  factsByImage.set(image, facts);
  return facts;
}
