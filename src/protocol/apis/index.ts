import type { MessageSchema, VersionRange } from '../schema.ts';
import { ProduceRequest, ProduceResponse } from './00-produce.ts';
import { FetchRequest, FetchResponse } from './01-fetch.ts';
import { ListOffsetsRequest, ListOffsetsResponse } from './02-list-offsets.ts';
import { MetadataRequest, MetadataResponse } from './03-metadata.ts';
import { OffsetCommitRequest, OffsetCommitResponse } from './08-offset-commit.ts';
import { OffsetFetchRequest, OffsetFetchResponse } from './09-offset-fetch.ts';
import { FindCoordinatorRequest, FindCoordinatorResponse } from './10-find-coordinator.ts';
import { JoinGroupRequest, JoinGroupResponse } from './11-join-group.ts';
import { HeartbeatRequest, HeartbeatResponse } from './12-heartbeat.ts';
import { LeaveGroupRequest, LeaveGroupResponse } from './13-leave-group.ts';
import { SyncGroupRequest, SyncGroupResponse } from './14-sync-group.ts';
import { DescribeGroupsRequest, DescribeGroupsResponse } from './15-describe-groups.ts';
import { ListGroupsRequest, ListGroupsResponse } from './16-list-groups.ts';
import { SaslHandshakeRequest, SaslHandshakeResponse } from './17-sasl-handshake.ts';
import { ApiVersionsRequest, ApiVersionsResponse } from './18-api-versions.ts';
import { CreateTopicsRequest, CreateTopicsResponse } from './19-create-topics.ts';
import { DeleteTopicsRequest, DeleteTopicsResponse } from './20-delete-topics.ts';
import { DeleteRecordsRequest, DeleteRecordsResponse } from './21-delete-records.ts';
import { InitProducerIdRequest, InitProducerIdResponse } from './22-init-producer-id.ts';
import { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from './23-offset-for-leader-epoch.ts';
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './24-add-partitions-to-txn.ts';
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './25-add-offsets-to-txn.ts';
import { EndTxnRequest, EndTxnResponse } from './26-end-txn.ts';
import { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from './27-write-txn-markers.ts';
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './28-txn-offset-commit.ts';
import { DescribeAclsRequest, DescribeAclsResponse } from './29-describe-acls.ts';
import { CreateAclsRequest, CreateAclsResponse } from './30-create-acls.ts';
import { DeleteAclsRequest, DeleteAclsResponse } from './31-delete-acls.ts';
import { DescribeConfigsRequest, DescribeConfigsResponse } from './32-describe-configs.ts';
import { AlterConfigsRequest, AlterConfigsResponse } from './33-alter-configs.ts';
import { DescribeLogDirsRequest, DescribeLogDirsResponse } from './35-describe-log-dirs.ts';
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from './36-sasl-authenticate.ts';
import { CreatePartitionsRequest, CreatePartitionsResponse } from './37-create-partitions.ts';
import { DeleteGroupsRequest, DeleteGroupsResponse } from './42-delete-groups.ts';
import { ElectLeadersRequest, ElectLeadersResponse } from './43-elect-leaders.ts';
import {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from './44-incremental-alter-configs.ts';
import {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from './45-alter-partition-reassignments.ts';
import {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from './46-list-partition-reassignments.ts';
import { OffsetDeleteRequest, OffsetDeleteResponse } from './47-offset-delete.ts';
import { DescribeClientQuotasRequest, DescribeClientQuotasResponse } from './48-describe-client-quotas.ts';
import { AlterClientQuotasRequest, AlterClientQuotasResponse } from './49-alter-client-quotas.ts';
import {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from './50-describe-user-scram-credentials.ts';
import {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from './51-alter-user-scram-credentials.ts';
import { VoteRequest, VoteResponse } from './52-vote.ts';
import { BeginQuorumEpochRequest, BeginQuorumEpochResponse } from './53-begin-quorum-epoch.ts';
import { EndQuorumEpochRequest, EndQuorumEpochResponse } from './54-end-quorum-epoch.ts';
import { DescribeQuorumRequest, DescribeQuorumResponse } from './55-describe-quorum.ts';
import { FetchSnapshotRequest, FetchSnapshotResponse } from './59-fetch-snapshot.ts';
import { DescribeClusterRequest, DescribeClusterResponse } from './60-describe-cluster.ts';
import { DescribeProducersRequest, DescribeProducersResponse } from './61-describe-producers.ts';
import { DescribeTransactionsRequest, DescribeTransactionsResponse } from './65-describe-transactions.ts';
import { ListTransactionsRequest, ListTransactionsResponse } from './66-list-transactions.ts';
import {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
} from './68-consumer-group-heartbeat.ts';
import { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from './69-consumer-group-describe.ts';
import { ListConfigResourcesRequest, ListConfigResourcesResponse } from './74-list-config-resources.ts';
import {
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
} from './75-describe-topic-partitions.ts';

/**
 * The registry of the APIs the protocol core knows, by API key. Version ranges come from the
 * specification (the request schema); the broker's handlers declare which part of them they serve.
 */

export interface ApiDefinition {
  readonly apiKey: number;
  readonly name: string;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
  readonly request: MessageSchema;
  readonly response: MessageSchema;
}

function defineApi(name: string, request: MessageSchema, response: MessageSchema): ApiDefinition {
  if (request.apiKey !== response.apiKey) throw new Error(`${name}: request and response API keys differ`);
  return {
    apiKey: request.apiKey,
    name,
    validVersions: request.validVersions,
    flexibleVersions: request.flexibleVersions,
    request,
    response,
  };
}

/** API keys by name, e.g. `ApiKey.Produce === 0`. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
  DescribeAcls: 29,
  CreateAcls: 30,
  DeleteAcls: 31,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  DescribeLogDirs: 35,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  ElectLeaders: 43,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  DescribeClientQuotas: 48,
  AlterClientQuotas: 49,
  DescribeUserScramCredentials: 50,
  AlterUserScramCredentials: 51,
  Vote: 52,
  BeginQuorumEpoch: 53,
  EndQuorumEpoch: 54,
  DescribeQuorum: 55,
  FetchSnapshot: 59,
  DescribeCluster: 60,
  DescribeProducers: 61,
  DescribeTransactions: 65,
  ListTransactions: 66,
  ConsumerGroupHeartbeat: 68,
  ConsumerGroupDescribe: 69,
  ListConfigResources: 74,
  DescribeTopicPartitions: 75,
} as const;

export type ApiName = keyof typeof ApiKey;

const definitions: readonly ApiDefinition[] = [
  defineApi('Produce', ProduceRequest, ProduceResponse),
  defineApi('Fetch', FetchRequest, FetchResponse),
  defineApi('ListOffsets', ListOffsetsRequest, ListOffsetsResponse),
  defineApi('Metadata', MetadataRequest, MetadataResponse),
  defineApi('OffsetCommit', OffsetCommitRequest, OffsetCommitResponse),
  defineApi('OffsetFetch', OffsetFetchRequest, OffsetFetchResponse),
  defineApi('FindCoordinator', FindCoordinatorRequest, FindCoordinatorResponse),
  defineApi('JoinGroup', JoinGroupRequest, JoinGroupResponse),
  defineApi('Heartbeat', HeartbeatRequest, HeartbeatResponse),
  defineApi('LeaveGroup', LeaveGroupRequest, LeaveGroupResponse),
  defineApi('SyncGroup', SyncGroupRequest, SyncGroupResponse),
  defineApi('DescribeGroups', DescribeGroupsRequest, DescribeGroupsResponse),
  defineApi('ListGroups', ListGroupsRequest, ListGroupsResponse),
  defineApi('SaslHandshake', SaslHandshakeRequest, SaslHandshakeResponse),
  defineApi('ApiVersions', ApiVersionsRequest, ApiVersionsResponse),
  defineApi('CreateTopics', CreateTopicsRequest, CreateTopicsResponse),
  defineApi('DeleteTopics', DeleteTopicsRequest, DeleteTopicsResponse),
  defineApi('DeleteRecords', DeleteRecordsRequest, DeleteRecordsResponse),
  defineApi('InitProducerId', InitProducerIdRequest, InitProducerIdResponse),
  defineApi('OffsetForLeaderEpoch', OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
  defineApi('AddPartitionsToTxn', AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
  defineApi('AddOffsetsToTxn', AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
  defineApi('EndTxn', EndTxnRequest, EndTxnResponse),
  defineApi('WriteTxnMarkers', WriteTxnMarkersRequest, WriteTxnMarkersResponse),
  defineApi('TxnOffsetCommit', TxnOffsetCommitRequest, TxnOffsetCommitResponse),
  defineApi('DescribeAcls', DescribeAclsRequest, DescribeAclsResponse),
  defineApi('CreateAcls', CreateAclsRequest, CreateAclsResponse),
  defineApi('DeleteAcls', DeleteAclsRequest, DeleteAclsResponse),
  defineApi('DescribeConfigs', DescribeConfigsRequest, DescribeConfigsResponse),
  defineApi('AlterConfigs', AlterConfigsRequest, AlterConfigsResponse),
  defineApi('DescribeLogDirs', DescribeLogDirsRequest, DescribeLogDirsResponse),
  defineApi('SaslAuthenticate', SaslAuthenticateRequest, SaslAuthenticateResponse),
  defineApi('CreatePartitions', CreatePartitionsRequest, CreatePartitionsResponse),
  defineApi('DeleteGroups', DeleteGroupsRequest, DeleteGroupsResponse),
  defineApi('ElectLeaders', ElectLeadersRequest, ElectLeadersResponse),
  defineApi('IncrementalAlterConfigs', IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
  defineApi(
    'AlterPartitionReassignments',
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
  ),
  defineApi(
    'ListPartitionReassignments',
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
  ),
  defineApi('OffsetDelete', OffsetDeleteRequest, OffsetDeleteResponse),
  defineApi('DescribeClientQuotas', DescribeClientQuotasRequest, DescribeClientQuotasResponse),
  defineApi('AlterClientQuotas', AlterClientQuotasRequest, AlterClientQuotasResponse),
  defineApi(
    'DescribeUserScramCredentials',
    DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
  ),
  defineApi('AlterUserScramCredentials', AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse),
  defineApi('Vote', VoteRequest, VoteResponse),
  defineApi('BeginQuorumEpoch', BeginQuorumEpochRequest, BeginQuorumEpochResponse),
  defineApi('EndQuorumEpoch', EndQuorumEpochRequest, EndQuorumEpochResponse),
  defineApi('DescribeQuorum', DescribeQuorumRequest, DescribeQuorumResponse),
  defineApi('FetchSnapshot', FetchSnapshotRequest, FetchSnapshotResponse),
  defineApi('DescribeCluster', DescribeClusterRequest, DescribeClusterResponse),
  defineApi('DescribeProducers', DescribeProducersRequest, DescribeProducersResponse),
  defineApi('DescribeTransactions', DescribeTransactionsRequest, DescribeTransactionsResponse),
  defineApi('ListTransactions', ListTransactionsRequest, ListTransactionsResponse),
  defineApi('ConsumerGroupHeartbeat', ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse),
  defineApi('ConsumerGroupDescribe', ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse),
  defineApi('ListConfigResources', ListConfigResourcesRequest, ListConfigResourcesResponse),
  defineApi('DescribeTopicPartitions', DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse),
];

export const apis: ReadonlyMap<number, ApiDefinition> = new Map(definitions.map((api) => [api.apiKey, api]));

/** The API of a key, or undefined when the protocol core does not know it. */
export function getApi(apiKey: number): ApiDefinition | undefined {
  return apis.get(apiKey);
}

export * from './00-produce.ts';
export * from './01-fetch.ts';
export * from './02-list-offsets.ts';
export * from './03-metadata.ts';
export * from './08-offset-commit.ts';
export * from './09-offset-fetch.ts';
export * from './10-find-coordinator.ts';
export * from './11-join-group.ts';
export * from './12-heartbeat.ts';
export * from './13-leave-group.ts';
export * from './14-sync-group.ts';
export * from './15-describe-groups.ts';
export * from './16-list-groups.ts';
export * from './17-sasl-handshake.ts';
export * from './18-api-versions.ts';
export * from './19-create-topics.ts';
export * from './20-delete-topics.ts';
export * from './21-delete-records.ts';
export * from './22-init-producer-id.ts';
export * from './23-offset-for-leader-epoch.ts';
export * from './24-add-partitions-to-txn.ts';
export * from './25-add-offsets-to-txn.ts';
export * from './26-end-txn.ts';
export * from './27-write-txn-markers.ts';
export * from './28-txn-offset-commit.ts';
export * from './29-describe-acls.ts';
export * from './30-create-acls.ts';
export * from './31-delete-acls.ts';
export * from './32-describe-configs.ts';
export * from './33-alter-configs.ts';
export * from './35-describe-log-dirs.ts';
export * from './36-sasl-authenticate.ts';
export * from './37-create-partitions.ts';
export * from './42-delete-groups.ts';
export * from './43-elect-leaders.ts';
export * from './44-incremental-alter-configs.ts';
export * from './45-alter-partition-reassignments.ts';
export * from './46-list-partition-reassignments.ts';
export * from './47-offset-delete.ts';
export * from './48-describe-client-quotas.ts';
export * from './49-alter-client-quotas.ts';
export * from './50-describe-user-scram-credentials.ts';
export * from './51-alter-user-scram-credentials.ts';
export * from './52-vote.ts';
export * from './53-begin-quorum-epoch.ts';
export * from './54-end-quorum-epoch.ts';
export * from './55-describe-quorum.ts';
export * from './59-fetch-snapshot.ts';
export * from './60-describe-cluster.ts';
export * from './61-describe-producers.ts';
export * from './65-describe-transactions.ts';
export * from './66-list-transactions.ts';
export * from './68-consumer-group-heartbeat.ts';
export * from './69-consumer-group-describe.ts';
export * from './74-list-config-resources.ts';
export * from './75-describe-topic-partitions.ts';
