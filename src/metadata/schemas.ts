import { array, field, type MessageSchema, message, struct } from '../protocol/index.ts';

/**
 * KRaft's metadata records as Apache Kafka 4.1.1 defines them (its `common/metadata/*.json`), for
 * every record kstack's metadata image uses, plus NoOpRecord. Written in the project's schema DSL
 * from the definitions: field order, versions, nullability, tags and defaults are Kafka's, so the
 * bytes are the bytes Kafka's generated classes read and write. Every record is flexible in all
 * its versions. Versions: the full range Kafka 4.1.1 reads; kstack writes `METADATA_RECORD_VERSIONS`.
 *
 * kstack owns tagged fields from `KSTACK_TAG_MIN` up (Kafka's own tags are small numbers; a reader
 * that does not know a tag skips it, so Kafka's tools read these records unchanged).
 */

/** The first tag number kstack owns in Kafka's records (documented in src/metadata/README.md). */
export const KSTACK_TAG_MIN = 10_000;

function metadata(apiKey: number, name: string, valid: string, fields: Parameters<typeof struct>[1]) {
  return message({ name, apiKey, type: 'data', validVersions: valid, flexibleVersions: '0+', fields });
}

export const RegisterBrokerRecord = metadata(0, 'RegisterBrokerRecord', '0-3', [
  field('brokerId', 'int32', '0+'),
  field('isMigratingZkBroker', 'bool', '2+', { default: false }),
  field('incarnationId', 'uuid', '0+'),
  field('brokerEpoch', 'int64', '0+'),
  field(
    'endPoints',
    array(
      struct('BrokerEndpoint', [
        field('name', 'string', '0+'),
        field('host', 'string', '0+'),
        field('port', 'uint16', '0+'),
        field('securityProtocol', 'int16', '0+'),
      ]),
    ),
    '0+',
  ),
  field(
    'features',
    array(
      struct('BrokerFeature', [
        field('name', 'string', '0+'),
        field('minSupportedVersion', 'int16', '0+'),
        field('maxSupportedVersion', 'int16', '0+'),
      ]),
    ),
    '0+',
  ),
  field('rack', 'string', '0+', { nullable: '0+' }),
  field('fenced', 'bool', '0+', { default: true }),
  field('inControlledShutdown', 'bool', '1+', { default: false }),
  field('logDirs', array('uuid'), '3+', { tag: 0 }),
  // kstack's own: the registration lists no listeners; its one endpoint's host and port serve
  // every listener of the node (a single node registers itself so).
  field('kstackEndpointsUnlisted', 'bool', '0+', { tag: KSTACK_TAG_MIN, default: false }),
]);

export const TopicRecord = metadata(2, 'TopicRecord', '0', [
  field('name', 'string', '0+'),
  field('topicId', 'uuid', '0+'),
]);

export const PartitionRecord = metadata(3, 'PartitionRecord', '0-2', [
  field('partitionId', 'int32', '0+', { default: -1 }),
  field('topicId', 'uuid', '0+'),
  field('replicas', array('int32'), '0+'),
  field('isr', array('int32'), '0+'),
  field('removingReplicas', array('int32'), '0+'),
  field('addingReplicas', array('int32'), '0+'),
  field('leader', 'int32', '0+', { default: -1 }),
  field('leaderRecoveryState', 'int8', '0+', { tag: 0, default: 0 }),
  field('leaderEpoch', 'int32', '0+', { default: -1 }),
  field('partitionEpoch', 'int32', '0+', { default: -1 }),
  field('directories', array('uuid'), '1+'),
  field('eligibleLeaderReplicas', array('int32'), '2+', { nullable: '2+', tag: 1, default: null }),
  field('lastKnownElr', array('int32'), '2+', { nullable: '2+', tag: 2, default: null }),
]);

export const ConfigRecord = metadata(4, 'ConfigRecord', '0', [
  field('resourceType', 'int8', '0+'),
  field('resourceName', 'string', '0+'),
  field('name', 'string', '0+'),
  field('value', 'string', '0+', { nullable: '0+' }),
]);

export const PartitionChangeRecord = metadata(5, 'PartitionChangeRecord', '0-2', [
  field('partitionId', 'int32', '0+', { default: -1 }),
  field('topicId', 'uuid', '0+'),
  field('isr', array('int32'), '0+', { nullable: '0+', tag: 0, default: null }),
  field('leader', 'int32', '0+', { tag: 1, default: -2 }),
  field('replicas', array('int32'), '0+', { nullable: '0+', tag: 2, default: null }),
  field('removingReplicas', array('int32'), '0+', { nullable: '0+', tag: 3, default: null }),
  field('addingReplicas', array('int32'), '0+', { nullable: '0+', tag: 4, default: null }),
  field('leaderRecoveryState', 'int8', '0+', { tag: 5, default: -1 }),
  field('directories', array('uuid'), '1+', { nullable: '1+', tag: 8, default: null }),
  field('eligibleLeaderReplicas', array('int32'), '2+', { nullable: '2+', tag: 6, default: null }),
  field('lastKnownElr', array('int32'), '2+', { nullable: '2+', tag: 7, default: null }),
]);

export const FenceBrokerRecord = metadata(7, 'FenceBrokerRecord', '0', [
  field('id', 'int32', '0+'),
  field('epoch', 'int64', '0+'),
]);

export const UnfenceBrokerRecord = metadata(8, 'UnfenceBrokerRecord', '0', [
  field('id', 'int32', '0+'),
  field('epoch', 'int64', '0+'),
]);

export const RemoveTopicRecord = metadata(9, 'RemoveTopicRecord', '0', [field('topicId', 'uuid', '0+')]);

export const UserScramCredentialRecord = metadata(11, 'UserScramCredentialRecord', '0', [
  field('name', 'string', '0+'),
  field('mechanism', 'int8', '0+'),
  field('salt', 'bytes', '0+'),
  field('storedKey', 'bytes', '0+'),
  field('serverKey', 'bytes', '0+'),
  field('iterations', 'int32', '0+'),
]);

export const FeatureLevelRecord = metadata(12, 'FeatureLevelRecord', '0', [
  field('name', 'string', '0+'),
  field('featureLevel', 'int16', '0+'),
]);

export const ClientQuotaRecord = metadata(14, 'ClientQuotaRecord', '0', [
  field(
    'entity',
    array(
      struct('EntityData', [
        field('entityType', 'string', '0+'),
        field('entityName', 'string', '0+', { nullable: '0+' }),
      ]),
    ),
    '0+',
  ),
  field('key', 'string', '0+'),
  field('value', 'float64', '0+'),
  field('remove', 'bool', '0+'),
]);

export const AccessControlEntryRecord = metadata(18, 'AccessControlEntryRecord', '0', [
  field('id', 'uuid', '0+'),
  field('resourceType', 'int8', '0+'),
  field('resourceName', 'string', '0+'),
  field('patternType', 'int8', '0+'),
  field('principal', 'string', '0+'),
  field('host', 'string', '0+'),
  field('operation', 'int8', '0+'),
  field('permissionType', 'int8', '0+'),
]);

export const RemoveAccessControlEntryRecord = metadata(19, 'RemoveAccessControlEntryRecord', '0', [
  field('id', 'uuid', '0+'),
]);

export const NoOpRecord = metadata(20, 'NoOpRecord', '0', []);

export const RemoveUserScramCredentialRecord = metadata(22, 'RemoveUserScramCredentialRecord', '0', [
  field('name', 'string', '0+'),
  field('mechanism', 'int8', '0+'),
]);

/** Every record schema kstack reads, by Kafka's api key (MetadataRecordType). */
export const METADATA_SCHEMAS: ReadonlyMap<number, MessageSchema> = new Map(
  [
    RegisterBrokerRecord,
    TopicRecord,
    PartitionRecord,
    ConfigRecord,
    PartitionChangeRecord,
    FenceBrokerRecord,
    UnfenceBrokerRecord,
    RemoveTopicRecord,
    UserScramCredentialRecord,
    FeatureLevelRecord,
    ClientQuotaRecord,
    AccessControlEntryRecord,
    RemoveAccessControlEntryRecord,
    NoOpRecord,
    RemoveUserScramCredentialRecord,
  ].map((schema) => [schema.apiKey, schema]),
);
