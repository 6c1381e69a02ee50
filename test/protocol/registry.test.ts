import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey, apis, getApi } from '../../src/protocol/apis/index.ts';
import { ErrorCode, errorByCode, KafkaErrors } from '../../src/protocol/errors.ts';

test('the registry holds the 56 APIs of the broker, group, transaction, security (ACLs, quotas too), quorum, reassignment work (45, 75) and config listing (74)', () => {
  assert.equal(apis.size, 56);
  assert.ok(
    getApi(45) !== undefined && getApi(75) !== undefined,
    'AlterPartitionReassignments (45) and DescribeTopicPartitions (75)',
  );
  for (const [name, key] of Object.entries(ApiKey)) {
    const api = getApi(key);
    assert.ok(api, name);
    assert.equal(api.name, name);
    assert.equal(api.apiKey, key);
    assert.equal(api.request.apiKey, key);
    assert.equal(api.response.messageType, 'response');
  }
  assert.equal(getApi(999), undefined);
});

test('version ranges as the specification gives them', () => {
  const expected: [number, number, number, number | null][] = [
    // api key, min, max, first flexible version (null: never flexible)
    [ApiKey.Produce, 0, 13, 9],
    [ApiKey.TxnOffsetCommit, 0, 5, 3],
    [ApiKey.Fetch, 0, 17, 12],
    [ApiKey.ListOffsets, 0, 10, 6],
    [ApiKey.Metadata, 0, 12, 9],
    [ApiKey.OffsetCommit, 0, 9, 8],
    [ApiKey.OffsetFetch, 0, 9, 6],
    [ApiKey.FindCoordinator, 0, 6, 3],
    [ApiKey.JoinGroup, 0, 9, 6],
    [ApiKey.Heartbeat, 0, 4, 4],
    [ApiKey.LeaveGroup, 0, 5, 4],
    [ApiKey.SyncGroup, 0, 5, 4],
    [ApiKey.DescribeGroups, 0, 6, 5],
    [ApiKey.ListGroups, 0, 5, 3],
    [ApiKey.SaslHandshake, 0, 1, null],
    [ApiKey.ApiVersions, 0, 4, 3],
    [ApiKey.CreateTopics, 0, 7, 5],
    [ApiKey.DeleteTopics, 0, 6, 4],
    [ApiKey.InitProducerId, 0, 5, 2],
    [ApiKey.OffsetForLeaderEpoch, 0, 4, 4],
    [ApiKey.WriteTxnMarkers, 0, 1, 1],
    [ApiKey.ElectLeaders, 0, 2, 2],
    [ApiKey.ListPartitionReassignments, 0, 0, 0],
    [ApiKey.DescribeConfigs, 0, 4, 4],
    [ApiKey.DescribeAcls, 0, 3, 2],
    [ApiKey.CreateAcls, 0, 3, 2],
    [ApiKey.DeleteAcls, 0, 3, 2],
    [ApiKey.OffsetDelete, 0, 0, null],
    [ApiKey.DescribeClientQuotas, 0, 1, 1],
    [ApiKey.AlterClientQuotas, 0, 1, 1],
    [ApiKey.DescribeCluster, 0, 1, 0],
    [ApiKey.ConsumerGroupHeartbeat, 0, 1, 0],
    [ApiKey.ListConfigResources, 0, 1, 0],
  ];
  for (const [key, min, max, flexible] of expected) {
    const api = getApi(key)!;
    assert.deepStrictEqual(api.validVersions, { min, max }, api.name);
    if (flexible === null) assert.ok(api.flexibleVersions.min > api.flexibleVersions.max, api.name);
    else assert.equal(api.flexibleVersions.min, flexible, api.name);
  }
});

test('the error catalog: unique codes, names as keys, unknown codes read as UNKNOWN_SERVER_ERROR', () => {
  const codes = new Set<number>();
  for (const [name, info] of Object.entries(KafkaErrors)) {
    assert.equal(info.name, name);
    assert.ok(!codes.has(info.code), `duplicate code ${info.code}`);
    codes.add(info.code);
    assert.equal(ErrorCode[name as keyof typeof ErrorCode], info.code);
  }
  for (let code = -1; code <= 133; code++) assert.ok(codes.has(code), `missing code ${code}`);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(errorByCode(6).name, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorByCode(6).retriable, true);
  assert.equal(errorByCode(22).retriable, false, 'ILLEGAL_GENERATION');
  assert.equal(errorByCode(5000), KafkaErrors.UNKNOWN_SERVER_ERROR);
});
