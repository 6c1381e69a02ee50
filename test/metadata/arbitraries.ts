/**
 * fast-check arbitraries for every metadata record kstack writes, in the form kstack writes it
 * (optional fields that hold their default left out), which is the form decoding gives back.
 */
import fc from 'fast-check';
import type { KraftMetadataRecord } from '../../src/metadata/codec.ts';
import { uuidFromBytes } from '../../src/protocol/index.ts';

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(uuidFromBytes);
const text = fc.string({ unit: 'grapheme', maxLength: 16 });
const nodeId = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const nodeIds = fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 });
const nonEmptyNodeIds = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 5 });
const int8 = fc.integer({ min: -128, max: 127 });
const int16 = fc.integer({ min: 0, max: 32767 });
const int32 = fc.integer({ min: -1, max: 2 ** 31 - 1 });
/** Broker epochs are metadata offsets: non-negative int64s, exact as JavaScript numbers. */
const epoch = fc.integer({ min: 0, max: 2 ** 48 });
const base64Bytes = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64'));

/** fc.record with ordinary objects (fast-check may build null-prototype ones, which deepEqual tells apart). */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** An optional field: absent, or present with a value from `arb`. */
function optional<K extends string, T>(key: K, arb: fc.Arbitrary<T>): fc.Arbitrary<{ [P in K]?: T }> {
  return fc
    .option(arb, { nil: undefined })
    .map((value) => (value === undefined ? {} : { [key]: value }) as { [P in K]?: T });
}

const endpoint = record({
  name: text,
  host: text,
  port: fc.integer({ min: 0, max: 65535 }),
  securityProtocol: fc.integer({ min: 0, max: 3 }),
});

const registration = fc
  .tuple(
    nodeId,
    fc.option(fc.array(endpoint, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    endpoint,
    fc.option(text, { nil: null }),
    optional('fenced', fc.constant(true as const)),
    optional('brokerEpoch', epoch),
  )
  .map(([brokerId, endpoints, lone, rack, fenced, brokerEpoch]): KraftMetadataRecord => {
    const first = endpoints?.[0] ?? lone;
    return {
      type: 'RegisterBrokerRecord',
      brokerId,
      host: first.host,
      port: first.port,
      rack,
      ...(endpoints === undefined ? {} : { endpoints }),
      ...fenced,
      ...brokerEpoch,
    };
  });

const partition = fc
  .tuple(
    record({ topicId: uuid, partitionId: fc.integer({ min: 0, max: 100_000 }) }),
    record({ replicas: nodeIds, isr: nodeIds, leader: int32, leaderEpoch: int32, partitionEpoch: int32 }),
    optional('addingReplicas', nonEmptyNodeIds),
    optional('removingReplicas', nonEmptyNodeIds),
    optional('elr', nodeIds),
    optional('lastKnownElr', nodeIds),
    optional('leaderRecoveryState', fc.integer({ min: 1, max: 127 })),
  )
  .map(
    ([id, state, ...optionals]): KraftMetadataRecord =>
      Object.assign({ type: 'PartitionRecord' as const }, id, state, ...optionals),
  );

const partitionChange = fc
  .tuple(
    record({ topicId: uuid, partitionId: fc.integer({ min: 0, max: 100_000 }) }),
    optional('leader', int32),
    optional('isr', nodeIds),
    optional('replicas', nodeIds),
    optional('addingReplicas', nodeIds),
    optional('removingReplicas', nodeIds),
    optional('elr', nodeIds),
    optional('lastKnownElr', nodeIds),
    optional('leaderRecoveryState', fc.integer({ min: 0, max: 127 })),
  )
  .map(
    ([id, ...optionals]): KraftMetadataRecord =>
      Object.assign({ type: 'PartitionChangeRecord' as const }, id, ...optionals),
  );

/** Every record kind kstack's metadata log holds, one arbitrary each. */
export const recordArbitraries: Readonly<
  Record<KraftMetadataRecord['type'], fc.Arbitrary<KraftMetadataRecord>>
> = {
  RegisterBrokerRecord: registration,
  TopicRecord: record({ type: fc.constant('TopicRecord' as const), name: text, topicId: uuid }),
  PartitionRecord: partition,
  PartitionChangeRecord: partitionChange,
  ConfigRecord: record({
    type: fc.constant('ConfigRecord' as const),
    resourceType: int8,
    resourceName: text,
    name: text,
    value: fc.option(text, { nil: null }),
  }),
  RemoveTopicRecord: record({ type: fc.constant('RemoveTopicRecord' as const), topicId: uuid }),
  FenceBrokerRecord: record({ type: fc.constant('FenceBrokerRecord' as const), id: nodeId, epoch }),
  UnfenceBrokerRecord: record({ type: fc.constant('UnfenceBrokerRecord' as const), id: nodeId, epoch }),
  FeatureLevelRecord: record({
    type: fc.constant('FeatureLevelRecord' as const),
    name: text,
    featureLevel: int16,
  }),
  AccessControlEntryRecord: record({
    type: fc.constant('AccessControlEntryRecord' as const),
    id: uuid,
    resourceType: int8,
    resourceName: text,
    patternType: int8,
    principal: text,
    host: text,
    operation: int8,
    permissionType: int8,
  }),
  RemoveAccessControlEntryRecord: record({
    type: fc.constant('RemoveAccessControlEntryRecord' as const),
    id: uuid,
  }),
  UserScramCredentialRecord: record({
    type: fc.constant('UserScramCredentialRecord' as const),
    name: text,
    mechanism: int8,
    salt: base64Bytes,
    storedKey: base64Bytes,
    serverKey: base64Bytes,
    iterations: int32,
  }),
  RemoveUserScramCredentialRecord: record({
    type: fc.constant('RemoveUserScramCredentialRecord' as const),
    name: text,
    mechanism: int8,
  }),
  ClientQuotaRecord: record({
    type: fc.constant('ClientQuotaRecord' as const),
    entity: fc.array(record({ entityType: text, entityName: fc.option(text, { nil: null }) }), {
      maxLength: 3,
    }),
    key: text,
    value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    remove: fc.boolean(),
  }),
  NoOpRecord: fc.constant({ type: 'NoOpRecord' as const }),
};

export const anyRecord: fc.Arbitrary<KraftMetadataRecord> = fc.oneof(...Object.values(recordArbitraries));
