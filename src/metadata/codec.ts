/**
 * kstack's metadata records as KRaft's bytes and back. A record is framed as Kafka's
 * ApiMessageAndVersion (MetadataRecordSerde): unsigned varint frame version (1), unsigned varint api
 * key (MetadataRecordType), unsigned varint record version, then the flexible body with its tagged
 * fields. These bytes are the value of one record in a metadata log batch, as Kafka writes them.
 *
 * The mapping is one to one: every record of kstack's image is a Kafka record of the same name.
 * What kstack does not know is written as Kafka's defaults (no incarnation id, no supported
 * features, no log directories); what Kafka has no field for is a kstack tagged field
 * (`KSTACK_TAG_MIN` and up), which Kafka's readers skip. Decoding gives the record in the form kstack
 * writes it: optional fields that hold their default are left out.
 */
import type { MetadataRecord, RegisteredEndpoint } from '../broker/metadata-image.ts';
import {
  compile,
  type MessageSchema,
  type MessageValue,
  Reader,
  Writer,
  ZERO_UUID,
} from '../protocol/index.ts';
import {
  AccessControlEntryRecord,
  ClientQuotaRecord,
  ConfigRecord,
  FeatureLevelRecord,
  FenceBrokerRecord,
  METADATA_SCHEMAS,
  NoOpRecord,
  PartitionChangeRecord,
  PartitionRecord,
  RegisterBrokerRecord,
  RemoveAccessControlEntryRecord,
  RemoveTopicRecord,
  RemoveUserScramCredentialRecord,
  TopicRecord,
  UnfenceBrokerRecord,
  UserScramCredentialRecord,
} from './schemas.ts';

/** ApiMessageAndVersion's frame version (Kafka's AbstractApiMessageSerde.DEFAULT_FRAME_VERSION). */
export const METADATA_FRAME_VERSION = 1;

/**
 * The version kstack writes of each record (by api key): Kafka 4.1.1's newest, so that the
 * ELR fields (PartitionRecord/PartitionChangeRecord v2) exist. Every other version Kafka 4.1.1
 * defines is read.
 */
export const METADATA_RECORD_VERSIONS: ReadonlyMap<number, number> = new Map([
  [RegisterBrokerRecord.apiKey, 3],
  [PartitionRecord.apiKey, 2],
  [PartitionChangeRecord.apiKey, 2],
]);

/** The listener a registration without listed endpoints is written under (SecurityProtocol PLAINTEXT). */
const UNLISTED_ENDPOINT_NAME = 'PLAINTEXT';

/** Every record the metadata log holds: the image's records and Kafka's NoOpRecord. */
export type KraftMetadataRecord = MetadataRecord | { readonly type: 'NoOpRecord' };

/** Bytes that are not a metadata record kstack reads, or a record Kafka's format cannot hold. */
export class MetadataRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataRecordError';
  }
}

/** One record as ApiMessageAndVersion bytes. */
export function encodeMetadataRecord(record: KraftMetadataRecord): Uint8Array {
  const { schema, value } = toKafka(record);
  const version = METADATA_RECORD_VERSIONS.get(schema.apiKey) ?? 0;
  const writer = new Writer(128);
  writer.uvarint(METADATA_FRAME_VERSION);
  writer.uvarint(schema.apiKey);
  writer.uvarint(version);
  compile(schema, version, true).encode(writer, value);
  return writer.finish();
}

/** ApiMessageAndVersion bytes as kstack's record; throws MetadataRecordError naming the fault. */
export function decodeMetadataRecord(bytes: Uint8Array): KraftMetadataRecord {
  const reader = new Reader(bytes);
  const { apiKey, version, value } = readFrame(reader, bytes.length);
  if (reader.remaining() !== 0) {
    throw new MetadataRecordError(
      `metadata record (api key ${apiKey} v${version}): ${reader.remaining()} byte(s) after its body`,
    );
  }
  return fromKafka(apiKey, value);
}

function readFrame(reader: Reader, size: number): { apiKey: number; version: number; value: MessageValue } {
  let apiKey = -1;
  let version = -1;
  try {
    const frameVersion = reader.uvarint();
    if (frameVersion !== METADATA_FRAME_VERSION) {
      throw new MetadataRecordError(
        `metadata record frame version ${frameVersion}, expected ${METADATA_FRAME_VERSION}`,
      );
    }
    apiKey = reader.uvarint();
    version = reader.uvarint();
    const schema = METADATA_SCHEMAS.get(apiKey);
    if (schema === undefined)
      throw new MetadataRecordError(`metadata record api key ${apiKey}: not one kstack reads`);
    if (version < schema.validVersions.min || version > schema.validVersions.max) {
      throw new MetadataRecordError(
        `${schema.name} version ${version}: Kafka 4.1.1 defines ${schema.validVersions.min}-${schema.validVersions.max}`,
      );
    }
    return { apiKey, version, value: compile(schema, version, true).decode(reader) };
  } catch (error) {
    if (error instanceof MetadataRecordError) throw error;
    throw new MetadataRecordError(
      `metadata record (api key ${apiKey} v${version}, ${size} bytes) is malformed: ${(error as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// kstack → Kafka

function toKafka(record: KraftMetadataRecord): { schema: MessageSchema; value: MessageValue } {
  switch (record.type) {
    case 'RegisterBrokerRecord':
      return { schema: RegisterBrokerRecord, value: registrationToKafka(record) };
    case 'TopicRecord':
      return { schema: TopicRecord, value: { name: record.name, topicId: record.topicId } };
    case 'PartitionRecord':
      return {
        schema: PartitionRecord,
        value: {
          partitionId: record.partitionId,
          topicId: record.topicId,
          replicas: [...record.replicas],
          isr: [...record.isr],
          removingReplicas: [...(record.removingReplicas ?? [])],
          addingReplicas: [...(record.addingReplicas ?? [])],
          leader: record.leader,
          leaderRecoveryState: record.leaderRecoveryState ?? 0,
          leaderEpoch: record.leaderEpoch,
          partitionEpoch: record.partitionEpoch,
          directories: [],
          eligibleLeaderReplicas: listOrNull(record.elr),
          lastKnownElr: listOrNull(record.lastKnownElr),
        },
      };
    case 'PartitionChangeRecord':
      return {
        schema: PartitionChangeRecord,
        value: {
          partitionId: record.partitionId,
          topicId: record.topicId,
          isr: listOrNull(record.isr),
          leader: record.leader ?? -2,
          replicas: listOrNull(record.replicas),
          removingReplicas: listOrNull(record.removingReplicas),
          addingReplicas: listOrNull(record.addingReplicas),
          leaderRecoveryState: record.leaderRecoveryState ?? -1,
          directories: null,
          eligibleLeaderReplicas: listOrNull(record.elr),
          lastKnownElr: listOrNull(record.lastKnownElr),
        },
      };
    case 'ConfigRecord':
      return { schema: ConfigRecord, value: { ...withoutType(record) } };
    case 'RemoveTopicRecord':
      return { schema: RemoveTopicRecord, value: { topicId: record.topicId } };
    case 'FenceBrokerRecord':
    case 'UnfenceBrokerRecord':
      return {
        schema: record.type === 'FenceBrokerRecord' ? FenceBrokerRecord : UnfenceBrokerRecord,
        value: { id: record.id, epoch: BigInt(record.epoch) },
      };
    case 'FeatureLevelRecord':
      return { schema: FeatureLevelRecord, value: { name: record.name, featureLevel: record.featureLevel } };
    case 'AccessControlEntryRecord':
      return { schema: AccessControlEntryRecord, value: { ...withoutType(record) } };
    case 'RemoveAccessControlEntryRecord':
      return { schema: RemoveAccessControlEntryRecord, value: { id: record.id } };
    case 'UserScramCredentialRecord':
      return {
        schema: UserScramCredentialRecord,
        value: {
          name: record.name,
          mechanism: record.mechanism,
          salt: Buffer.from(record.salt, 'base64'),
          storedKey: Buffer.from(record.storedKey, 'base64'),
          serverKey: Buffer.from(record.serverKey, 'base64'),
          iterations: record.iterations,
        },
      };
    case 'RemoveUserScramCredentialRecord':
      return {
        schema: RemoveUserScramCredentialRecord,
        value: { name: record.name, mechanism: record.mechanism },
      };
    case 'ClientQuotaRecord':
      return {
        schema: ClientQuotaRecord,
        value: {
          entity: record.entity.map(({ entityType, entityName }) => ({ entityType, entityName })),
          key: record.key,
          value: record.value,
          remove: record.remove,
        },
      };
    case 'NoOpRecord':
      return { schema: NoOpRecord, value: {} };
  }
}

type Registration = Extract<MetadataRecord, { type: 'RegisterBrokerRecord' }>;

/**
 * Kafka's registration lists every listener; kstack's `host`/`port` are its first one's. A single
 * node's registration lists none (its host and port serve every listener): it is written as one
 * PLAINTEXT endpoint and kstack's `kstackEndpointsUnlisted` tag. No broker epoch (the record's own
 * offset is the epoch) is written as -1.
 */
function registrationToKafka(record: Registration): MessageValue {
  const listed = record.endpoints !== undefined && record.endpoints.length > 0;
  const endpoints: readonly RegisteredEndpoint[] = listed
    ? (record.endpoints ?? [])
    : [{ name: UNLISTED_ENDPOINT_NAME, host: record.host, port: record.port, securityProtocol: 0 }];
  const first = endpoints[0];
  if (first !== undefined && (first.host !== record.host || first.port !== record.port)) {
    throw new MetadataRecordError(
      `RegisterBrokerRecord of broker ${record.brokerId}: ${record.host}:${record.port} is not its first endpoint (${first.host}:${first.port}); Kafka's record has no other place for it`,
    );
  }
  return {
    brokerId: record.brokerId,
    isMigratingZkBroker: false,
    incarnationId: ZERO_UUID,
    brokerEpoch: BigInt(record.brokerEpoch ?? -1),
    endPoints: endpoints.map(({ name, host, port, securityProtocol }) => ({
      name,
      host,
      port,
      securityProtocol,
    })),
    features: [],
    rack: record.rack,
    fenced: record.fenced === true,
    inControlledShutdown: false,
    logDirs: [],
    kstackEndpointsUnlisted: !listed,
  };
}

// ---------------------------------------------------------------------------------------------------
// Kafka → kstack

interface EndpointValue {
  name: string;
  host: string;
  port: number;
  securityProtocol: number;
}

function fromKafka(apiKey: number, v: MessageValue): KraftMetadataRecord {
  switch (apiKey) {
    case RegisterBrokerRecord.apiKey:
      return registrationFromKafka(v);
    case TopicRecord.apiKey:
      return { type: 'TopicRecord', name: v.name as string, topicId: v.topicId as string };
    case PartitionRecord.apiKey:
      return {
        type: 'PartitionRecord',
        topicId: v.topicId as string,
        partitionId: v.partitionId as number,
        replicas: v.replicas as number[],
        isr: v.isr as number[],
        leader: v.leader as number,
        leaderEpoch: v.leaderEpoch as number,
        partitionEpoch: v.partitionEpoch as number,
        ...nonEmpty('addingReplicas', v.addingReplicas as number[]),
        ...nonEmpty('removingReplicas', v.removingReplicas as number[]),
        ...present('elr', v.eligibleLeaderReplicas as number[] | null),
        ...present('lastKnownElr', v.lastKnownElr as number[] | null),
        ...(v.leaderRecoveryState === 0 ? {} : { leaderRecoveryState: v.leaderRecoveryState as number }),
      };
    case PartitionChangeRecord.apiKey:
      return {
        type: 'PartitionChangeRecord',
        topicId: v.topicId as string,
        partitionId: v.partitionId as number,
        ...(v.leader === -2 ? {} : { leader: v.leader as number }),
        ...present('isr', v.isr as number[] | null),
        ...present('replicas', v.replicas as number[] | null),
        ...present('addingReplicas', v.addingReplicas as number[] | null),
        ...present('removingReplicas', v.removingReplicas as number[] | null),
        ...present('elr', v.eligibleLeaderReplicas as number[] | null),
        ...present('lastKnownElr', v.lastKnownElr as number[] | null),
        ...(v.leaderRecoveryState === -1 ? {} : { leaderRecoveryState: v.leaderRecoveryState as number }),
      };
    case ConfigRecord.apiKey:
      return {
        type: 'ConfigRecord',
        resourceType: v.resourceType as number,
        resourceName: v.resourceName as string,
        name: v.name as string,
        value: v.value as string | null,
      };
    case RemoveTopicRecord.apiKey:
      return { type: 'RemoveTopicRecord', topicId: v.topicId as string };
    case FenceBrokerRecord.apiKey:
      return { type: 'FenceBrokerRecord', id: v.id as number, epoch: Number(v.epoch as bigint) };
    case UnfenceBrokerRecord.apiKey:
      return { type: 'UnfenceBrokerRecord', id: v.id as number, epoch: Number(v.epoch as bigint) };
    case FeatureLevelRecord.apiKey:
      return { type: 'FeatureLevelRecord', name: v.name as string, featureLevel: v.featureLevel as number };
    case AccessControlEntryRecord.apiKey:
      return {
        type: 'AccessControlEntryRecord',
        id: v.id as string,
        resourceType: v.resourceType as number,
        resourceName: v.resourceName as string,
        patternType: v.patternType as number,
        principal: v.principal as string,
        host: v.host as string,
        operation: v.operation as number,
        permissionType: v.permissionType as number,
      };
    case RemoveAccessControlEntryRecord.apiKey:
      return { type: 'RemoveAccessControlEntryRecord', id: v.id as string };
    case UserScramCredentialRecord.apiKey:
      return {
        type: 'UserScramCredentialRecord',
        name: v.name as string,
        mechanism: v.mechanism as number,
        salt: base64(v.salt),
        storedKey: base64(v.storedKey),
        serverKey: base64(v.serverKey),
        iterations: v.iterations as number,
      };
    case RemoveUserScramCredentialRecord.apiKey:
      return {
        type: 'RemoveUserScramCredentialRecord',
        name: v.name as string,
        mechanism: v.mechanism as number,
      };
    case ClientQuotaRecord.apiKey:
      return {
        type: 'ClientQuotaRecord',
        entity: (v.entity as { entityType: string; entityName: string | null }[]).map(
          ({ entityType, entityName }) => ({ entityType, entityName }),
        ),
        key: v.key as string,
        value: v.value as number,
        remove: v.remove as boolean,
      };
    case NoOpRecord.apiKey:
      return { type: 'NoOpRecord' };
    default:
      throw new MetadataRecordError(`metadata record api key ${apiKey}: not one kstack reads`);
  }
}

function registrationFromKafka(v: MessageValue): Registration {
  const brokerId = v.brokerId as number;
  const endpoints = (v.endPoints as EndpointValue[]).map(({ name, host, port, securityProtocol }) => ({
    name,
    host,
    port,
    securityProtocol,
  }));
  const first = endpoints[0];
  if (first === undefined)
    throw new MetadataRecordError(`RegisterBrokerRecord of broker ${brokerId} lists no endpoint`);
  const brokerEpoch = Number(v.brokerEpoch as bigint);
  return {
    type: 'RegisterBrokerRecord',
    brokerId,
    host: first.host,
    port: first.port,
    rack: v.rack as string | null,
    ...(v.kstackEndpointsUnlisted === true ? {} : { endpoints }),
    ...(v.fenced === true ? { fenced: true } : {}),
    ...(brokerEpoch >= 0 ? { brokerEpoch } : {}),
  };
}

function listOrNull(list: readonly number[] | undefined): number[] | null {
  return list === undefined ? null : [...list];
}

function present<K extends string>(key: K, list: number[] | null): { [P in K]?: number[] } {
  return (list === null ? {} : { [key]: list }) as { [P in K]?: number[] };
}

function nonEmpty<K extends string>(key: K, list: number[]): { [P in K]?: number[] } {
  return (list.length === 0 ? {} : { [key]: list }) as { [P in K]?: number[] };
}

function withoutType<T extends { type: string }>(record: T): Omit<T, 'type'> {
  const { type: _type, ...rest } = record;
  return rest;
}

function base64(bytes: unknown): string {
  const view = bytes as Uint8Array;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}
