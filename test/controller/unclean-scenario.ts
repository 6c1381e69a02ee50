// The facts file's scenario 13 (every ISR member dead) staged with processes, the same steps on
// kstack's `kstack node` processes (unclean-election.slow.ts) and on Apache Kafka 4.1.1's JVMs
// (unclean-reference.long.ts, by hand): three RF 2 topics on brokers [2,3] with min ISR 1, five
// records each; broker 3 killed (SIGKILL), the ISR shrinks to [2], five more records each; broker 2
// killed and broker 3 started again (it is alive, out of the ISR and, after its unclean shutdown,
// out of the ELR). A quorum of three combined nodes needs two: node 1 holds no replica and keeps it.
// `on-at-create` has unclean.leader.election.enable=true from its creation, `topic-later` gets it
// as a dynamic topic config afterwards, `cluster-later` through the cluster-wide dynamic broker
// default. What is observed: each partition's leader and ISR after broker 2 is fenced and after
// each config change, and the end offset the new leader serves.
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { connect, FrameReader } from '../engine/broker-process.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';

export interface ScenarioCluster {
  readonly bootstrap: string[];
  stopNode(id: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startNode(id: number): Promise<void>;
}

/**
 * unclean.leader.election.interval.ms on both targets: Kafka elects after a dynamic change only at
 * this periodic check (5 min by default), and kstack does the same.
 */
export const UNCLEAN_INTERVAL_MS = 3_000;
export const ON_AT_CREATE = 'on-at-create';
export const TOPIC_LATER = 'topic-later';
export const CLUSTER_LATER = 'cluster-later';
const TOPICS = [ON_AT_CREATE, TOPIC_LATER, CLUSTER_LATER] as const;
const RECORDS_EACH_ROUND = 5;
/** Generous: a loaded 2-core machine; the reference fences a dead broker after 9 s. */
export const WAIT_MS = 120_000;
const POLL_MS = 100;
const METADATA_KEY = 3;
const METADATA_VERSION = 12;
const INCREMENTAL_ALTER_CONFIGS_KEY = 44;
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
/** A restarted kstack node holds requests until caught up: ask the next broker after this. */
const ANSWER_TIMEOUT_MS = 3_000;

export interface PartitionState {
  readonly leader: number;
  readonly isr: readonly number[];
}

export interface UncleanObservations {
  /** Every topic once broker 2 is fenced (its last ISR member gone), before any config change. */
  readonly afterFencing: Record<string, PartitionState>;
  /** `topic-later` and `cluster-later` after the topic config change. */
  readonly afterTopicConfig: Record<string, PartitionState>;
  /** `cluster-later` after the cluster default change. */
  readonly afterClusterConfig: PartitionState;
  /** The end offset (ListOffsets latest) of each topic once led by broker 3. */
  readonly endOffsets: Record<string, number>;
  /** Milliseconds from each config change to its partition's election. */
  readonly topicElectionMs: number;
  readonly clusterElectionMs: number;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // A broker going or coming: ask again.
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** The first broker of `bootstrap` that answers the request, raw (the answer's body). */
async function ask(
  bootstrap: readonly string[],
  apiKey: number,
  apiVersion: number,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  let problem = 'no broker';
  for (const address of bootstrap) {
    const port = Number(address.split(':')[1]);
    let socket: Awaited<ReturnType<typeof connect>> | null = null;
    try {
      socket = await connect(port);
      socket.on('error', () => {});
      const reader = new FrameReader(socket);
      socket.write(
        encodeRequest(
          { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: 'unclean' },
          body,
        ),
      );
      const [frame] = await reader.next(1, ANSWER_TIMEOUT_MS);
      return decodeResponse(apiKey, apiVersion, frame!).body;
    } catch (error) {
      problem = `${address}: ${(error as Error).message}`;
    } finally {
      socket?.destroy();
    }
  }
  throw new Error(problem);
}

/**
 * Each topic's partition 0 as a live broker answers Metadata v12, raw: the clients' own metadata
 * calls fail on a leaderless partition (LEADER_NOT_AVAILABLE), which is what this scenario looks at.
 */
async function states(bootstrap: readonly string[]): Promise<Record<string, PartitionState>> {
  const body = (await ask(bootstrap, METADATA_KEY, METADATA_VERSION, {
    topics: TOPICS.map((name) => ({ name })),
    allowAutoTopicCreation: false,
  })) as {
    topics: {
      name: string;
      partitions: { partitionIndex: number; leaderId: number; isrNodes: number[] }[];
    }[];
  };
  const result: Record<string, PartitionState> = {};
  for (const topic of body.topics) {
    const partition = topic.partitions.find((p) => p.partitionIndex === 0);
    if (partition !== undefined)
      result[topic.name] = { leader: partition.leaderId, isr: [...partition.isrNodes].sort() };
  }
  return result;
}

/** Sets unclean.leader.election.enable=true on one resource (IncrementalAlterConfigs v1, raw: kafkajs asks for the leaderless topic's metadata first). */
async function enableUnclean(
  bootstrap: readonly string[],
  resourceType: number,
  resourceName: string,
): Promise<void> {
  const body = (await ask(bootstrap, INCREMENTAL_ALTER_CONFIGS_KEY, 1, {
    resources: [
      {
        resourceType,
        resourceName,
        configs: [{ name: 'unclean.leader.election.enable', configOperation: 0, value: 'true' }],
      },
    ],
    validateOnly: false,
  })) as { responses: { errorCode: number; errorMessage: string | null }[] };
  const answer = body.responses[0];
  if (answer?.errorCode !== 0)
    throw new Error(
      `IncrementalAlterConfigs ${resourceName}: error ${answer?.errorCode} ${answer?.errorMessage}`,
    );
}

async function produce(bootstrap: string[], round: number): Promise<void> {
  const producer = kafkajsClient(`unclean-producer-${round}`, bootstrap).producer({
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    for (const topic of TOPICS) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: RECORDS_EACH_ROUND }, (_, i) => ({
          value: `${topic}-${round}-${i}`,
          partition: 0,
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Runs the scenario on a started three-node cluster; returns what it saw. */
export async function runUncleanScenario(cluster: ScenarioCluster): Promise<UncleanObservations> {
  const kafka = kafkajsClient('unclean-scenario', cluster.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: TOPICS.map((topic) => ({
        topic,
        replicaAssignment: [{ partition: 0, replicas: [2, 3] }],
        configEntries: [
          { name: 'min.insync.replicas', value: '1' },
          ...(topic === ON_AT_CREATE ? [{ name: 'unclean.leader.election.enable', value: 'true' }] : []),
        ],
      })),
    });
    await waitFor('every topic led by 2 with ISR [2,3]', async () => {
      const now = await states(cluster.bootstrap);
      return TOPICS.every((t) => now[t]?.leader === 2 && now[t]?.isr.join() === '2,3') ? true : undefined;
    });
    await produce(cluster.bootstrap, 1);

    await cluster.stopNode(3, 'SIGKILL');
    await waitFor('ISR [2] everywhere', async () => {
      const now = await states(cluster.bootstrap);
      return TOPICS.every((t) => now[t]?.isr.join() === '2') ? true : undefined;
    });
    await produce(cluster.bootstrap, 2);

    // Broker 2 dies; broker 3, behind it, comes back (the quorum needs it with node 1).
    await cluster.stopNode(2, 'SIGKILL');
    await cluster.startNode(3);
    const afterFencing = await waitFor('broker 2 out of every ISR', async () => {
      const now = await states(cluster.bootstrap);
      return TOPICS.every((t) => now[t] !== undefined && !now[t].isr.includes(2)) ? now : undefined;
    });

    const topicChange = performance.now();
    await enableUnclean(cluster.bootstrap, RESOURCE_TOPIC, TOPIC_LATER);
    const afterTopicConfig = await waitFor(`${TOPIC_LATER} led again`, async () => {
      const now = await states(cluster.bootstrap);
      return now[TOPIC_LATER] !== undefined && now[TOPIC_LATER].leader !== -1 ? now : undefined;
    });
    const topicElectionMs = performance.now() - topicChange;

    const clusterChange = performance.now();
    await enableUnclean(cluster.bootstrap, RESOURCE_BROKER, '');
    const afterClusterConfig = await waitFor(`${CLUSTER_LATER} led again`, async () => {
      const now = (await states(cluster.bootstrap))[CLUSTER_LATER];
      return now !== undefined && now.leader !== -1 ? now : undefined;
    });
    const clusterElectionMs = performance.now() - clusterChange;

    const endOffsets: Record<string, number> = {};
    for (const topic of TOPICS) {
      const [offsets] = await waitFor(`${topic}'s end offset`, () => admin.fetchTopicOffsets(topic));
      endOffsets[topic] = Number(offsets?.high ?? -1);
    }
    return {
      afterFencing,
      afterTopicConfig,
      afterClusterConfig,
      endOffsets,
      topicElectionMs,
      clusterElectionMs,
    };
  } finally {
    await admin.disconnect();
  }
}
