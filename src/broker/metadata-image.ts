/**
 * Cluster metadata as an immutable image rebuilt by applying records, as KRaft brokers
 * do (TopicRecord, PartitionRecord, PartitionChangeRecord, ConfigRecord,
 * RemoveTopicRecord, RegisterBrokerRecord). Today one node appends the records to a
 * local log (metadata-log.ts); the Raft quorum will later replicate the same records.
 */
import type { AclMetadataRecord } from '../security/acls.ts';
import type { ClientQuotaMetadataRecord } from '../security/quotas.ts';
import type { ScramMetadataRecord } from '../security/scram-store.ts';
import type { BrokerEndpoint, MetadataView, PartitionView, TopicView } from './services.ts';

/** ConfigRecord resource types (Kafka's ConfigResource.Type). */
/** Kafka's ConfigResource.Type ids. */
export const ConfigResourceType = {
  topic: 2,
  broker: 4,
  brokerLogger: 8,
  clientMetrics: 16,
  group: 32,
} as const;

/**
 * One listener of a registered broker, as Kafka's RegisterBrokerRecord lists them (its `endpoints`:
 * listener name, advertised host and port, security protocol id).
 */
export interface RegisteredEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

/** SCRAM credential records are kept by src/security (scram-store.ts); the image passes over them. */
export type MetadataRecord =
  | ScramMetadataRecord
  | AclMetadataRecord
  | ClientQuotaMetadataRecord
  | { readonly type: 'TopicRecord'; readonly name: string; readonly topicId: string }
  | {
      readonly type: 'PartitionRecord';
      readonly topicId: string;
      readonly partitionId: number;
      readonly replicas: readonly number[];
      readonly isr: readonly number[];
      readonly leader: number;
      readonly leaderEpoch: number;
      readonly partitionEpoch: number;
      readonly addingReplicas?: readonly number[];
      readonly removingReplicas?: readonly number[];
      readonly elr?: readonly number[];
      readonly lastKnownElr?: readonly number[];
      /** LeaderRecoveryState; absent is RECOVERED (Kafka's default 0). */
      readonly leaderRecoveryState?: number;
    }
  | {
      /**
       * Only the changed fields; `leader` -2 means unchanged (Kafka's convention). An absent list is
       * unchanged; an empty `addingReplicas`/`removingReplicas`/`elr`/`lastKnownElr` clears it.
       */
      readonly type: 'PartitionChangeRecord';
      readonly topicId: string;
      readonly partitionId: number;
      readonly leader?: number;
      readonly isr?: readonly number[];
      readonly replicas?: readonly number[];
      readonly addingReplicas?: readonly number[];
      readonly removingReplicas?: readonly number[];
      readonly elr?: readonly number[];
      readonly lastKnownElr?: readonly number[];
      /** LeaderRecoveryState; absent is unchanged (Kafka's -1). */
      readonly leaderRecoveryState?: number;
    }
  | {
      readonly type: 'ConfigRecord';
      readonly resourceType: number;
      readonly resourceName: string;
      readonly name: string;
      /** null removes the override. */
      readonly value: string | null;
    }
  | { readonly type: 'RemoveTopicRecord'; readonly topicId: string }
  | {
      readonly type: 'RegisterBrokerRecord';
      readonly brokerId: number;
      readonly host: string;
      readonly port: number;
      readonly rack: string | null;
      /**
       * Every listener of the broker (a cluster node's registration); `host`/`port` are the first's,
       * which the brokers replicate over. Absent (one node, older logs): `host`/`port` on every listener.
       */
      readonly endpoints?: readonly RegisteredEndpoint[];
      /** A cluster's broker registers fenced (Kafka's RegisterBrokerRecord.Fenced); one node is not. */
      readonly fenced?: boolean;
      /**
       * Kafka's BrokerEpoch: set in a snapshot's records (src/controller/metadata-snapshot.ts), where
       * the record's offset is not the registration's; absent, the epoch is the record's own offset.
       */
      readonly brokerEpoch?: number;
    }
  /** Kafka's FenceBrokerRecord / UnfenceBrokerRecord: `epoch` is the broker epoch they apply to. */
  | { readonly type: 'FenceBrokerRecord'; readonly id: number; readonly epoch: number }
  | { readonly type: 'UnfenceBrokerRecord'; readonly id: number; readonly epoch: number }
  /** Kafka's FeatureLevelRecord: a finalized feature level (0 removes it); src/coordinator/features.ts. */
  | { readonly type: 'FeatureLevelRecord'; readonly name: string; readonly featureLevel: number };

interface MutableTopic {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: PartitionView[];
  configs: Map<string, string>;
}

export class MetadataImage implements MetadataView {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly metadataOffset: bigint;
  readonly #brokers: ReadonlyMap<number, BrokerEndpoint>;
  readonly #topicsByName: ReadonlyMap<string, TopicView>;
  readonly #topicsById: ReadonlyMap<string, TopicView>;
  /** Broker-resource config overrides by broker id ('' for the cluster default). */
  readonly brokerConfigs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per registered broker: its epoch (the offset of its registration) and whether it is fenced. */
  readonly #registrations: ReadonlyMap<number, { readonly epoch: number; readonly fenced: boolean }>;
  /** Finalized feature levels by name (FeatureLevelRecord); a level-0 feature is absent. */
  readonly finalizedFeatures: ReadonlyMap<string, number>;
  /** Per registered broker that listed them: its listeners' endpoints. */
  readonly #endpoints: ReadonlyMap<number, readonly RegisteredEndpoint[]>;
  /** Group config overrides (KIP-848's GROUP resource, src/coordinator/group-configs.ts) by group id. */
  readonly groupConfigs: ReadonlyMap<string, ReadonlyMap<string, string>>;

  constructor(
    clusterId: string,
    controllerId: number,
    metadataOffset: bigint,
    brokers: ReadonlyMap<number, BrokerEndpoint>,
    topicsByName: ReadonlyMap<string, TopicView>,
    brokerConfigs: ReadonlyMap<string, ReadonlyMap<string, string>>,
    registrations: ReadonlyMap<number, { readonly epoch: number; readonly fenced: boolean }> = new Map(),
    finalizedFeatures: ReadonlyMap<string, number> = new Map(),
    endpoints: ReadonlyMap<number, readonly RegisteredEndpoint[]> = new Map(),
    groupConfigs: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
  ) {
    this.#endpoints = endpoints;
    this.groupConfigs = groupConfigs;
    this.#registrations = registrations;
    this.finalizedFeatures = finalizedFeatures;
    this.clusterId = clusterId;
    this.controllerId = controllerId;
    this.metadataOffset = metadataOffset;
    this.#brokers = brokers;
    this.#topicsByName = topicsByName;
    this.#topicsById = new Map([...topicsByName.values()].map((t) => [t.topicId, t]));
    this.brokerConfigs = brokerConfigs;
  }

  static empty(clusterId: string, controllerId: number): MetadataImage {
    return new MetadataImage(clusterId, controllerId, -1n, new Map(), new Map(), new Map());
  }

  /** The same image naming `controllerId` as the active controller (a quorum's leader change). */
  withController(controllerId: number): MetadataImage {
    if (controllerId === this.controllerId) return this;
    return new MetadataImage(
      this.clusterId,
      controllerId,
      this.metadataOffset,
      this.#brokers,
      this.#topicsByName,
      this.brokerConfigs,
      this.#registrations,
      this.finalizedFeatures,
      this.#endpoints,
      this.groupConfigs,
    );
  }

  /**
   * A registered broker's endpoints, one per listener, as its RegisterBrokerRecord listed them;
   * undefined when it listed none (one node, whose `host`/`port` serve every listener).
   */
  endpointsOf(brokerId: number): readonly RegisteredEndpoint[] | undefined {
    return this.#endpoints.get(brokerId);
  }

  /** The epoch of a registered broker (the metadata offset of its registration), -1 if unknown. */
  brokerEpoch(brokerId: number): number {
    return this.#registrations.get(brokerId)?.epoch ?? -1;
  }

  /** Whether a broker is fenced (an unregistered one is). */
  isFenced(brokerId: number): boolean {
    return this.#registrations.get(brokerId)?.fenced ?? true;
  }

  brokers(): readonly BrokerEndpoint[] {
    return [...this.#brokers.values()];
  }

  /**
   * The registered brokers that are not fenced: what Metadata and DescribeCluster list, as Kafka's
   * alive brokers (a killed broker drops out once the controller fences it, so clients stop
   * sending to it; one broker registers unfenced).
   */
  aliveBrokers(): readonly BrokerEndpoint[] {
    return this.brokers().filter((broker) => !this.isFenced(broker.nodeId));
  }

  topic(name: string): TopicView | undefined {
    return this.#topicsByName.get(name);
  }

  topicById(topicId: string): TopicView | undefined {
    return this.#topicsById.get(topicId);
  }

  topics(): Iterable<TopicView> {
    return this.#topicsByName.values();
  }

  /** The image after `records` (a delta): the receiver is left unchanged. */
  apply(records: readonly MetadataRecord[], lastOffset: bigint): MetadataImage {
    const brokers = new Map(this.#brokers);
    const byId = new Map<string, MutableTopic>();
    const touched = new Set<string>();
    const topicById = (topicId: string): MutableTopic => {
      let topic = byId.get(topicId);
      if (topic === undefined) {
        const current = this.#topicsById.get(topicId);
        if (current === undefined) throw new Error(`metadata record for unknown topic id ${topicId}`);
        topic = {
          ...current,
          partitions: [...current.partitions],
          configs: new Map(current.configs),
        };
        byId.set(topicId, topic);
      }
      touched.add(topicId);
      return topic;
    };
    const removed = new Set<string>();
    const brokerConfigs = new Map(this.brokerConfigs);
    const registrations = new Map(this.#registrations);
    const finalizedFeatures = new Map(this.finalizedFeatures);
    const endpoints = new Map(this.#endpoints);
    const groupConfigs = new Map(this.groupConfigs);
    for (const record of records) {
      switch (record.type) {
        case 'TopicRecord':
          byId.set(record.topicId, {
            name: record.name,
            topicId: record.topicId,
            internal: record.name.startsWith('__'),
            partitions: [],
            configs: new Map(),
          });
          touched.add(record.topicId);
          removed.delete(record.topicId);
          break;
        case 'PartitionRecord': {
          const topic = topicById(record.topicId);
          topic.partitions[record.partitionId] = {
            partitionIndex: record.partitionId,
            leaderId: record.leader,
            leaderEpoch: record.leaderEpoch,
            partitionEpoch: record.partitionEpoch,
            replicas: record.replicas,
            isr: record.isr,
            ...optionalLists({}, record),
            ...recoveryState(record.leaderRecoveryState ?? LeaderRecoveryState.recovered),
          };
          break;
        }
        case 'PartitionChangeRecord': {
          const topic = topicById(record.topicId);
          const current = topic.partitions[record.partitionId];
          if (current === undefined) throw new Error(`PartitionChangeRecord for unknown partition`);
          const leaderChanged = record.leader !== undefined && record.leader !== -2;
          topic.partitions[record.partitionId] = {
            ...current,
            leaderId: leaderChanged ? record.leader! : current.leaderId,
            leaderEpoch: leaderChanged ? current.leaderEpoch + 1 : current.leaderEpoch,
            partitionEpoch: current.partitionEpoch + 1,
            isr: record.isr ?? current.isr,
            replicas: record.replicas ?? current.replicas,
          };
          const changed = optionalLists(topic.partitions[record.partitionId] as PartitionView, record);
          topic.partitions[record.partitionId] =
            record.leaderRecoveryState === undefined
              ? changed
              : { ...withoutRecoveryState(changed), ...recoveryState(record.leaderRecoveryState) };
          break;
        }
        case 'ConfigRecord':
          if (record.resourceType === ConfigResourceType.topic) {
            const current = this.#topicsByName.get(record.resourceName);
            const pending = [...byId.values()].find((t) => t.name === record.resourceName);
            const topicId = pending?.topicId ?? current?.topicId;
            if (topicId === undefined) break;
            const topic = topicById(topicId);
            if (record.value === null) topic.configs.delete(record.name);
            else topic.configs.set(record.name, record.value);
          } else if (record.resourceType === ConfigResourceType.group) {
            const configs = new Map(groupConfigs.get(record.resourceName) ?? []);
            if (record.value === null) configs.delete(record.name);
            else configs.set(record.name, record.value);
            if (configs.size === 0) groupConfigs.delete(record.resourceName);
            else groupConfigs.set(record.resourceName, configs);
          } else {
            const configs = new Map(brokerConfigs.get(record.resourceName) ?? []);
            if (record.value === null) configs.delete(record.name);
            else configs.set(record.name, record.value);
            brokerConfigs.set(record.resourceName, configs);
          }
          break;
        case 'RemoveTopicRecord':
          removed.add(record.topicId);
          byId.delete(record.topicId);
          break;
        case 'RegisterBrokerRecord':
          brokers.set(record.brokerId, {
            nodeId: record.brokerId,
            host: record.host,
            port: record.port,
            rack: record.rack,
          });
          registrations.set(record.brokerId, {
            epoch: record.brokerEpoch ?? Number(lastOffset),
            fenced: record.fenced === true,
          });
          if (record.endpoints === undefined || record.endpoints.length === 0)
            endpoints.delete(record.brokerId);
          else endpoints.set(record.brokerId, Object.freeze([...record.endpoints]));
          break;
        case 'FenceBrokerRecord':
        case 'UnfenceBrokerRecord': {
          const current = registrations.get(record.id);
          if (current === undefined || current.epoch !== record.epoch) break;
          registrations.set(record.id, { epoch: current.epoch, fenced: record.type === 'FenceBrokerRecord' });
          break;
        }
        case 'FeatureLevelRecord':
          if (record.featureLevel === 0) finalizedFeatures.delete(record.name);
          else finalizedFeatures.set(record.name, record.featureLevel);
          break;
      }
    }
    const topicsByName = new Map<string, TopicView>();
    for (const topic of this.#topicsByName.values()) {
      if (!removed.has(topic.topicId) && !touched.has(topic.topicId)) topicsByName.set(topic.name, topic);
    }
    for (const topic of byId.values()) {
      topicsByName.set(
        topic.name,
        Object.freeze({ ...topic, partitions: Object.freeze([...topic.partitions]) }),
      );
    }
    return new MetadataImage(
      this.clusterId,
      this.controllerId,
      lastOffset,
      brokers,
      topicsByName,
      brokerConfigs,
      registrations,
      finalizedFeatures,
      endpoints,
      groupConfigs,
    );
  }
}

/** Kafka's LeaderRecoveryState (KIP-704): RECOVERING after an unclean election until the leader expands the ISR. */
export const LeaderRecoveryState = { recovered: 0, recovering: 1 } as const;

/** The view's field for a LeaderRecoveryState: absent when RECOVERED, so recovered partitions compare equal. */
function recoveryState(state: number): { leaderRecoveryState?: number } {
  return state === LeaderRecoveryState.recovered ? {} : { leaderRecoveryState: state };
}

function withoutRecoveryState(partition: PartitionView): PartitionView {
  const { leaderRecoveryState: _, ...rest } = partition;
  return rest;
}

type OptionalList = 'addingReplicas' | 'removingReplicas' | 'elr' | 'lastKnownElr';
const OPTIONAL_LISTS: readonly OptionalList[] = ['addingReplicas', 'removingReplicas', 'elr', 'lastKnownElr'];

/**
 * `base` with the reassignment and ELR lists a record names: a non-empty list is set, an empty one
 * removes the field (the view leaves empty lists out, so partitions without either compare equal).
 */
function optionalLists<T extends Partial<Record<OptionalList, readonly number[]>>>(
  base: T,
  record: Partial<Record<OptionalList, readonly number[]>>,
): T {
  let result = base;
  for (const name of OPTIONAL_LISTS) {
    const list = record[name];
    if (list === undefined) continue;
    result = { ...result };
    if (list.length === 0) delete result[name];
    else result[name] = list;
  }
  return result;
}
