/**
 * The Kafka events users search a broker's log for (leader changes, ISR changes, fencing, topic
 * creation), published where they happen on `node:diagnostics_channel` channels, so the broker
 * and controller import neither the logger nor the metrics: whoever cares subscribes (the
 * structured log of src/common/log.ts, the ISR counters of src/metrics). Publishing with no
 * subscriber costs one check. Several nodes may run in one process: every event names its node.
 */
import diagnostics from 'node:diagnostics_channel';

/** A replicated partition's local replica became leader or follower, or its leader epoch moved. */
export interface LeaderChangeEvent {
  readonly nodeId: number;
  readonly topic: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/** The controller committed an ISR this node (the partition's leader) asked for with AlterPartition. */
export interface IsrChangeEvent {
  readonly nodeId: number;
  readonly topic: string;
  readonly partition: number;
  readonly isrBefore: readonly number[];
  readonly isrAfter: readonly number[];
}

/** The active controller (`nodeId`) fenced or unfenced broker `brokerId`. */
export interface FencingEvent {
  readonly nodeId: number;
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly fenced: boolean;
  readonly reason: string;
}

/** A topic was created through this node. */
export interface TopicCreatedEvent {
  readonly nodeId: number;
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: number;
}

/** A consumer group's coordinator (`nodeId`) finished a rebalance: a new generation. */
export interface RebalanceEvent {
  readonly nodeId: number;
  readonly group: string;
  readonly generationId: number;
  readonly members: number;
}

/** A consumer group's coordinator (`nodeId`) started a rebalance of a group (Kafka's "Preparing to rebalance"). */
export interface RebalanceStartedEvent {
  readonly nodeId: number;
  readonly group: string;
  /** The generation the rebalance leaves. */
  readonly generationId: number;
  readonly members: number;
  readonly reason: string;
}

export interface KafkaEventMap {
  'leader-change': LeaderChangeEvent;
  'isr-change': IsrChangeEvent;
  fencing: FencingEvent;
  'topic-created': TopicCreatedEvent;
  'rebalance-started': RebalanceStartedEvent;
  rebalance: RebalanceEvent;
}

export type KafkaEventName = keyof KafkaEventMap;

export const KAFKA_EVENT_NAMES: readonly KafkaEventName[] = [
  'leader-change',
  'isr-change',
  'fencing',
  'topic-created',
  'rebalance-started',
  'rebalance',
];

const channels = new Map(KAFKA_EVENT_NAMES.map((name) => [name, diagnostics.channel(`kstack:${name}`)]));

function channelOf(name: KafkaEventName): diagnostics.Channel {
  const channel = channels.get(name);
  if (channel === undefined) throw new Error(`no Kafka event channel named ${name}`);
  return channel;
}

/** Publishes `event` to the subscribers of `name` (none: nothing is built or sent). */
export function publishKafkaEvent<N extends KafkaEventName>(name: N, event: KafkaEventMap[N]): void {
  const channel = channelOf(name);
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `listener` for every event of `name`; returns the unsubscriber. */
export function onKafkaEvent<N extends KafkaEventName>(
  name: N,
  listener: (event: KafkaEventMap[N]) => void,
): () => void {
  const channel = channelOf(name);
  const handler = (message: unknown) => listener(message as KafkaEventMap[N]);
  channel.subscribe(handler);
  return () => {
    channel.unsubscribe(handler);
  };
}
