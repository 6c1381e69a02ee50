/**
 * A metadata snapshot as Kafka writes one: the records that rebuild the image as it is at the
 * snapshot's offset, compacted (one TopicRecord per live topic, one PartitionRecord per partition
 * with its current replicas, ISR, ELR, leader and epochs, one RegisterBrokerRecord per broker with
 * its epoch and fencing, the live configs, feature levels, ACLs, SCRAM credentials and client
 * quotas), and nothing of what is gone (deleted topics, removed ACLs, replaced registrations).
 * Replaying the snapshot alone gives an image equal to the one it was taken from.
 *
 * The image itself passes over ACL, SCRAM and quota records (src/security keeps them), so the
 * quorum keeps their live set beside the image (`PassedOverRecords`).
 */
import { ConfigResourceType, type MetadataImage, type MetadataRecord } from '../broker/metadata-image.ts';
import type { PartitionView, TopicView } from '../broker/services.ts';
import type { AclMetadataRecord } from '../security/acls.ts';
import { type ClientQuotaMetadataRecord, entityKey } from '../security/quotas.ts';
import type { ScramMetadataRecord } from '../security/scram-store.ts';

type AclRecord = Extract<AclMetadataRecord, { type: 'AccessControlEntryRecord' }>;
type ScramRecord = Extract<ScramMetadataRecord, { type: 'UserScramCredentialRecord' }>;

/** The live ACL, SCRAM credential and client quota records, by their keys, in first-set order. */
export class PassedOverRecords {
  readonly #acls = new Map<string, AclRecord>();
  readonly #scram = new Map<string, ScramRecord>();
  readonly #quotas = new Map<string, ClientQuotaMetadataRecord>();

  /** Folds `records` in: a set replaces the key's record, a removal drops it; others are ignored. */
  replay(records: readonly MetadataRecord[]): void {
    for (const record of records) {
      switch (record.type) {
        case 'AccessControlEntryRecord':
          this.#acls.set(record.id, record);
          break;
        case 'RemoveAccessControlEntryRecord':
          this.#acls.delete(record.id);
          break;
        case 'UserScramCredentialRecord':
          this.#scram.set(scramKey(record), record);
          break;
        case 'RemoveUserScramCredentialRecord':
          this.#scram.delete(scramKey(record));
          break;
        case 'ClientQuotaRecord':
          if (record.remove) this.#quotas.delete(quotaKey(record));
          else this.#quotas.set(quotaKey(record), record);
          break;
      }
    }
  }

  records(): MetadataRecord[] {
    return [...this.#acls.values(), ...this.#scram.values(), ...this.#quotas.values()];
  }

  clone(): PassedOverRecords {
    const copy = new PassedOverRecords();
    copy.replay(this.records());
    return copy;
  }

  /** The removal records that take `this` to a state holding only what `next` holds. */
  removalsTowards(next: PassedOverRecords): MetadataRecord[] {
    const removals: MetadataRecord[] = [];
    for (const [id] of this.#acls) {
      if (!next.#acls.has(id)) removals.push({ type: 'RemoveAccessControlEntryRecord', id });
    }
    for (const [key, { name, mechanism }] of this.#scram) {
      if (!next.#scram.has(key)) removals.push({ type: 'RemoveUserScramCredentialRecord', name, mechanism });
    }
    for (const [key, record] of this.#quotas) {
      if (!next.#quotas.has(key)) removals.push({ ...record, value: 0, remove: true });
    }
    return removals;
  }
}

function scramKey(record: { readonly name: string; readonly mechanism: number }): string {
  return `${record.mechanism}\0${record.name}`;
}

function quotaKey(record: ClientQuotaMetadataRecord): string {
  return `${entityKey(new Map(record.entity.map((c) => [c.entityType, c.entityName])))}\0${record.key}`;
}

/**
 * The records of a compacted snapshot of `image` and the passed-over records: features, brokers
 * (each with its epoch and fencing), broker configs, then each topic with its partitions and
 * configs, then ACLs, SCRAM credentials and quotas.
 */
export function snapshotRecords(image: MetadataImage, passedOver: PassedOverRecords): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const [name, featureLevel] of image.finalizedFeatures) {
    records.push({ type: 'FeatureLevelRecord', name, featureLevel });
  }
  for (const broker of image.brokers()) {
    const endpoints = image.endpointsOf(broker.nodeId);
    records.push({
      type: 'RegisterBrokerRecord',
      brokerId: broker.nodeId,
      host: broker.host,
      port: broker.port,
      rack: broker.rack,
      ...(endpoints === undefined ? {} : { endpoints }),
      fenced: image.isFenced(broker.nodeId),
      brokerEpoch: image.brokerEpoch(broker.nodeId),
    });
  }
  for (const [resourceType, layers] of configLayers(image)) {
    for (const [resourceName, configs] of layers) {
      for (const [name, value] of configs) {
        records.push({ type: 'ConfigRecord', resourceType, resourceName, name, value });
      }
    }
  }
  for (const topic of image.topics()) records.push(...topicRecords(topic));
  records.push(...passedOver.records());
  return records;
}

/** The image's config overrides that are not a topic's, by ConfigRecord resource type: broker and group. */
function configLayers(image: MetadataImage): [number, ReadonlyMap<string, ReadonlyMap<string, string>>][] {
  return [
    [ConfigResourceType.broker, image.brokerConfigs],
    [ConfigResourceType.group, image.groupConfigs],
  ];
}

function topicRecords(topic: TopicView): MetadataRecord[] {
  const records: MetadataRecord[] = [{ type: 'TopicRecord', name: topic.name, topicId: topic.topicId }];
  for (const partition of topic.partitions) {
    if (partition !== undefined) records.push(partitionRecord(topic.topicId, partition));
  }
  for (const [name, value] of topic.configs) {
    records.push({
      type: 'ConfigRecord',
      resourceType: ConfigResourceType.topic,
      resourceName: topic.name,
      name,
      value,
    });
  }
  return records;
}

function partitionRecord(topicId: string, partition: PartitionView): MetadataRecord {
  const { addingReplicas, removingReplicas, elr, lastKnownElr, leaderRecoveryState } = partition;
  return {
    type: 'PartitionRecord',
    topicId,
    partitionId: partition.partitionIndex,
    replicas: partition.replicas,
    isr: partition.isr,
    leader: partition.leaderId,
    leaderEpoch: partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch,
    ...(addingReplicas === undefined ? {} : { addingReplicas }),
    ...(removingReplicas === undefined ? {} : { removingReplicas }),
    ...(elr === undefined ? {} : { elr }),
    ...(lastKnownElr === undefined ? {} : { lastKnownElr }),
    ...(leaderRecoveryState === undefined ? {} : { leaderRecoveryState }),
  };
}

/**
 * What a node that holds `before` replays to hold what a snapshot installs (`after`), as Kafka's
 * metadata loader turns a loaded snapshot into a delta: removals of what `after` lacks (topics,
 * broker and group configs, feature levels, ACLs, credentials, quotas), then the snapshot's records. A
 * broker registration is never removed (no record does), so `after` holds every broker of `before`.
 */
export function snapshotDelta(
  before: { readonly image: MetadataImage; readonly passedOver: PassedOverRecords },
  after: { readonly image: MetadataImage; readonly passedOver: PassedOverRecords },
): MetadataRecord[] {
  const removals: MetadataRecord[] = [];
  for (const topic of before.image.topics()) {
    if (after.image.topicById(topic.topicId) === undefined)
      removals.push({ type: 'RemoveTopicRecord', topicId: topic.topicId });
  }
  const afterLayers = new Map(configLayers(after.image));
  for (const [resourceType, layers] of configLayers(before.image)) {
    for (const [resourceName, configs] of layers) {
      const kept = afterLayers.get(resourceType)?.get(resourceName);
      for (const [name] of configs) {
        if (kept?.has(name) !== true) {
          removals.push({ type: 'ConfigRecord', resourceType, resourceName, name, value: null });
        }
      }
    }
  }
  for (const [name] of before.image.finalizedFeatures) {
    if (!after.image.finalizedFeatures.has(name))
      removals.push({ type: 'FeatureLevelRecord', name, featureLevel: 0 });
  }
  removals.push(...before.passedOver.removalsTowards(after.passedOver));
  return [...removals, ...snapshotRecords(after.image, after.passedOver)];
}
