/**
 * The quorum messages of src/raft as Kafka's wire bodies (Vote 52, BeginQuorumEpoch 53,
 * EndQuorumEpoch 54, Fetch 1 on `__cluster_metadata`, FetchSnapshot 59) and back. Log entries
 * travel as record batches: one batch per entry, its base offset the entry's offset, its partition
 * leader epoch the entry's epoch, the control bit for a leader-change entry, one record whose
 * value is the payload. Sans I/O: values in, values out.
 */
import { ControlRecordType, controlKey } from '../metadata/control-records.ts';
import { type MessageValue, ZERO_UUID } from '../protocol/index.ts';
import type {
  BeginQuorumEpochRequest,
  EndQuorumEpochRequest,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  LogEntry,
  RaftMessage,
  VoteRequest,
  VoteResponse,
} from '../raft/types.ts';
import { decodeRecordBatches, encodeRecordBatch, isControl } from '../records/index.ts';

/** Kafka's name and id of the metadata log's topic (Uuid(0, 1)), one partition. */
export const METADATA_TOPIC = '__cluster_metadata';
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
export const METADATA_PARTITION = 0;

/** The versions kstack's voters send: the newest Kafka 4.1 speaks for each API. */
export const QUORUM_VERSIONS = {
  fetch: 17,
  vote: 2,
  beginQuorumEpoch: 1,
  endQuorumEpoch: 1,
  fetchSnapshot: 1,
} as const;

/** Bytes a follower asks for per Fetch; the replica bounds the entries itself (fetchEntriesMax). */
const FETCH_MAX_BYTES = 8 * 1024 * 1024;
/** The key of a LeaderChange control record (Kafka's ControlRecordType.LEADER_CHANGE.recordKey()). */
const LEADER_CHANGE_KEY = controlKey(ControlRecordType.leaderChange);

export interface OutboundRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly body: MessageValue;
}

/** The wire request for a quorum request message sent to voter `to`; null for a response kind. */
export function encodeQuorumRequest(
  message: RaftMessage,
  to: number,
  clusterId: string,
): OutboundRequest | null {
  switch (message.kind) {
    case 'VoteRequest':
      return {
        apiKey: 52,
        apiVersion: QUORUM_VERSIONS.vote,
        body: {
          clusterId,
          voterId: to,
          topics: [
            {
              topicName: METADATA_TOPIC,
              partitions: [
                {
                  partitionIndex: METADATA_PARTITION,
                  replicaEpoch: message.candidateEpoch,
                  replicaId: message.candidateId,
                  replicaDirectoryId: ZERO_UUID,
                  voterDirectoryId: ZERO_UUID,
                  lastOffsetEpoch: message.lastOffsetEpoch,
                  lastOffset: BigInt(message.lastOffset),
                  preVote: message.preVote,
                },
              ],
            },
          ],
        },
      };
    case 'BeginQuorumEpochRequest':
      return {
        apiKey: 53,
        apiVersion: QUORUM_VERSIONS.beginQuorumEpoch,
        body: {
          clusterId,
          voterId: to,
          topics: [
            {
              topicName: METADATA_TOPIC,
              partitions: [
                {
                  partitionIndex: METADATA_PARTITION,
                  voterDirectoryId: ZERO_UUID,
                  leaderId: message.leaderId,
                  leaderEpoch: message.leaderEpoch,
                },
              ],
            },
          ],
          leaderEndpoints: [],
        },
      };
    case 'EndQuorumEpochRequest':
      return {
        apiKey: 54,
        apiVersion: QUORUM_VERSIONS.endQuorumEpoch,
        body: {
          clusterId,
          topics: [
            {
              topicName: METADATA_TOPIC,
              partitions: [
                {
                  partitionIndex: METADATA_PARTITION,
                  leaderId: message.leaderId,
                  leaderEpoch: message.leaderEpoch,
                  preferredSuccessors: [...message.preferredSuccessors],
                  preferredCandidates: message.preferredSuccessors.map((candidateId) => ({
                    candidateId,
                    candidateDirectoryId: ZERO_UUID,
                  })),
                },
              ],
            },
          ],
          leaderEndpoints: [],
        },
      };
    case 'FetchRequest':
      return {
        apiKey: 1,
        apiVersion: QUORUM_VERSIONS.fetch,
        body: {
          clusterId,
          replicaState: { replicaId: message.replicaId, replicaEpoch: -1n },
          maxWaitMs: message.maxWaitMs,
          minBytes: 0,
          maxBytes: FETCH_MAX_BYTES,
          topics: [
            {
              topicId: METADATA_TOPIC_ID,
              partitions: [
                {
                  partition: METADATA_PARTITION,
                  currentLeaderEpoch: message.currentLeaderEpoch,
                  fetchOffset: BigInt(message.fetchOffset),
                  lastFetchedEpoch: message.lastFetchedEpoch,
                  logStartOffset: -1n,
                  partitionMaxBytes: FETCH_MAX_BYTES,
                },
              ],
            },
          ],
        },
      };
    case 'FetchSnapshotRequest':
      return {
        apiKey: 59,
        apiVersion: QUORUM_VERSIONS.fetchSnapshot,
        body: {
          clusterId,
          replicaId: message.replicaId,
          maxBytes: 0x7fffffff,
          topics: [
            {
              name: METADATA_TOPIC,
              partitions: [
                {
                  partition: METADATA_PARTITION,
                  currentLeaderEpoch: message.currentLeaderEpoch,
                  snapshotId: {
                    endOffset: BigInt(message.snapshotId.endOffset),
                    epoch: message.snapshotId.epoch,
                  },
                  position: BigInt(message.position),
                },
              ],
            },
          ],
        },
      };
    default:
      return null;
  }
}

/** Thrown when a quorum request names another partition or cluster, or lacks its one partition. */
export class QuorumRequestError extends Error {
  override readonly name = 'QuorumRequestError';
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

type Partition = Record<string, unknown>;

/** The one `__cluster_metadata` partition of a quorum body (`topics[].partitions[]`). */
function onePartition(body: MessageValue, topicKey: string, topicValue: string): Partition {
  const topics = body.topics as { partitions: Partition[] }[];
  const topic = topics.find((t) => (t as unknown as Record<string, unknown>)[topicKey] === topicValue);
  const partition = topic?.partitions[0];
  if (
    topics.length !== 1 ||
    topic === undefined ||
    topic.partitions.length !== 1 ||
    partition === undefined
  ) {
    throw new QuorumRequestError(
      3,
      `a quorum request names exactly one partition of ${METADATA_TOPIC}; got ${topics.length} topic(s)`,
    );
  }
  return partition;
}

/** A received quorum request as the message the replica handles, and the node it came from. */
export function decodeQuorumRequest(
  apiKey: number,
  apiVersion: number,
  body: MessageValue,
): { from: number; message: RaftMessage } {
  switch (apiKey) {
    case 52: {
      const p = onePartition(body, 'topicName', METADATA_TOPIC);
      const message: VoteRequest = {
        kind: 'VoteRequest',
        candidateEpoch: p.replicaEpoch as number,
        candidateId: p.replicaId as number,
        lastOffsetEpoch: p.lastOffsetEpoch as number,
        lastOffset: Number(p.lastOffset as bigint),
        preVote: p.preVote as boolean,
      };
      return { from: message.candidateId, message };
    }
    case 53: {
      const p = onePartition(body, 'topicName', METADATA_TOPIC);
      const message: BeginQuorumEpochRequest = {
        kind: 'BeginQuorumEpochRequest',
        leaderEpoch: p.leaderEpoch as number,
        leaderId: p.leaderId as number,
      };
      return { from: message.leaderId, message };
    }
    case 54: {
      const p = onePartition(body, 'topicName', METADATA_TOPIC);
      const successors =
        apiVersion === 0
          ? (p.preferredSuccessors as number[])
          : (p.preferredCandidates as { candidateId: number }[]).map((c) => c.candidateId);
      const message: EndQuorumEpochRequest = {
        kind: 'EndQuorumEpochRequest',
        leaderEpoch: p.leaderEpoch as number,
        leaderId: p.leaderId as number,
        preferredSuccessors: successors,
      };
      return { from: message.leaderId, message };
    }
    case 1: {
      const p =
        apiVersion >= 13
          ? onePartition(body, 'topicId', METADATA_TOPIC_ID)
          : onePartition(body, 'topic', METADATA_TOPIC);
      const replicaId =
        apiVersion >= 15
          ? (body.replicaState as { replicaId: number }).replicaId
          : (body.replicaId as number);
      const message: FetchRequest = {
        kind: 'FetchRequest',
        fetchId: -1,
        replicaId,
        currentLeaderEpoch: p.currentLeaderEpoch as number,
        fetchOffset: Number(p.fetchOffset as bigint),
        lastFetchedEpoch: p.lastFetchedEpoch as number,
        maxWaitMs: body.maxWaitMs as number,
      };
      return { from: replicaId, message };
    }
    case 59: {
      const p = onePartition(body, 'name', METADATA_TOPIC);
      const id = p.snapshotId as { endOffset: bigint; epoch: number };
      const message: FetchSnapshotRequest = {
        kind: 'FetchSnapshotRequest',
        replicaId: body.replicaId as number,
        currentLeaderEpoch: p.currentLeaderEpoch as number,
        snapshotId: { endOffset: Number(id.endOffset), epoch: id.epoch },
        position: Number(p.position as bigint),
      };
      return { from: message.replicaId, message };
    }
    default:
      throw new QuorumRequestError(42, `API key ${apiKey} is not a quorum request`);
  }
}

/** Log entries as record batches, one per entry, record i of an entry at its offset + i. */
export async function encodeEntries(entries: readonly LogEntry[], timestampMs: number): Promise<Buffer> {
  const batches = await Promise.all(
    entries.map((entry) =>
      encodeRecordBatch({
        baseOffset: entry.offset,
        partitionLeaderEpoch: entry.epoch,
        control: entry.control,
        // A control entry is the epoch's LeaderChange: Kafka's control record key names its type.
        records: entry.records.map((value) => ({
          timestamp: timestampMs,
          key: entry.control ? LEADER_CHANGE_KEY : null,
          value,
        })),
      }),
    ),
  );
  return Buffer.concat(batches);
}

/** Record batches back into log entries (one per batch, its records in order at consecutive offsets). */
export async function decodeEntries(records: Uint8Array | null): Promise<LogEntry[]> {
  if (records === null || records.length === 0) return [];
  const entries: LogEntry[] = [];
  for (const batch of await decodeRecordBatches(records)) {
    const offset = batch.header.baseOffset;
    batch.records.forEach((record, i) => {
      if (record.offset !== offset + i) {
        throw new QuorumRequestError(
          2,
          `batch at ${offset}: record ${i} at offset ${record.offset}, not ${offset + i}`,
        );
      }
    });
    if (batch.records.length === 0) throw new QuorumRequestError(2, `batch at ${offset} holds no record`);
    entries.push({
      offset,
      epoch: batch.header.partitionLeaderEpoch,
      control: isControl(batch.header.attributes),
      records: batch.records.map((record) => record.value ?? new Uint8Array(0)),
    });
  }
  return entries;
}

/** The wire answer to an inbound quorum request, from the replica's response message. */
export async function encodeQuorumResponse(
  apiKey: number,
  message: RaftMessage,
  timestampMs: number,
): Promise<MessageValue> {
  switch (message.kind) {
    case 'VoteResponse':
      return {
        errorCode: 0,
        topics: [
          {
            topicName: METADATA_TOPIC,
            partitions: [
              {
                partitionIndex: METADATA_PARTITION,
                errorCode: message.errorCode,
                leaderId: message.leaderId,
                leaderEpoch: message.leaderEpoch,
                voteGranted: message.voteGranted,
              },
            ],
          },
        ],
        nodeEndpoints: [],
      };
    case 'BeginQuorumEpochResponse':
    case 'EndQuorumEpochResponse':
      return {
        errorCode: 0,
        topics: [
          {
            topicName: METADATA_TOPIC,
            partitions: [
              {
                partitionIndex: METADATA_PARTITION,
                errorCode: message.errorCode,
                leaderId: message.leaderId,
                leaderEpoch: message.leaderEpoch,
              },
            ],
          },
        ],
        nodeEndpoints: [],
      };
    case 'FetchResponse':
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: METADATA_TOPIC,
            topicId: METADATA_TOPIC_ID,
            partitions: [
              {
                partitionIndex: METADATA_PARTITION,
                errorCode: message.errorCode,
                highWatermark: BigInt(message.highWatermark),
                lastStableOffset: -1n,
                logStartOffset: BigInt(message.logStartOffset),
                divergingEpoch: {
                  epoch: message.divergingEpoch?.epoch ?? -1,
                  endOffset: BigInt(message.divergingEpoch?.endOffset ?? -1),
                },
                currentLeader: { leaderId: message.leaderId, leaderEpoch: message.leaderEpoch },
                snapshotId: {
                  endOffset: BigInt(message.snapshotId?.endOffset ?? -1),
                  epoch: message.snapshotId?.epoch ?? -1,
                },
                abortedTransactions: [],
                preferredReadReplica: -1,
                records: await encodeEntries(message.entries, timestampMs),
              },
            ],
          },
        ],
        nodeEndpoints: [],
      };
    case 'FetchSnapshotResponse':
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: [
          {
            name: METADATA_TOPIC,
            partitions: [
              {
                index: METADATA_PARTITION,
                errorCode: message.errorCode,
                snapshotId: {
                  endOffset: BigInt(message.snapshotId.endOffset),
                  epoch: message.snapshotId.epoch,
                },
                currentLeader: { leaderId: message.leaderId, leaderEpoch: message.leaderEpoch },
                size: BigInt(message.size),
                position: BigInt(message.position),
                unalignedRecords: message.bytes,
              },
            ],
          },
        ],
        nodeEndpoints: [],
      };
    default:
      throw new Error(`API key ${apiKey}: ${message.kind} is not a response`);
  }
}

/** A received answer to `request` (the message this node sent) as the message the replica handles. */
export async function decodeQuorumResponse(
  request: RaftMessage,
  body: MessageValue,
): Promise<RaftMessage | null> {
  const first = (topics: unknown): Partition | undefined =>
    (topics as { partitions: Partition[] }[])[0]?.partitions[0];
  switch (request.kind) {
    case 'VoteRequest': {
      const p = first(body.topics);
      const message: VoteResponse = {
        kind: 'VoteResponse',
        errorCode: p === undefined ? (body.errorCode as number) : (p.errorCode as number),
        leaderEpoch: (p?.leaderEpoch as number | undefined) ?? -1,
        leaderId: (p?.leaderId as number | undefined) ?? -1,
        voteGranted: (p?.voteGranted as boolean | undefined) ?? false,
        candidateEpoch: request.candidateEpoch,
        preVote: request.preVote,
      };
      return message;
    }
    case 'BeginQuorumEpochRequest':
    case 'EndQuorumEpochRequest': {
      const p = first(body.topics);
      if (p === undefined) return null;
      return {
        kind:
          request.kind === 'BeginQuorumEpochRequest' ? 'BeginQuorumEpochResponse' : 'EndQuorumEpochResponse',
        errorCode: p.errorCode as number,
        leaderEpoch: p.leaderEpoch as number,
        leaderId: p.leaderId as number,
      };
    }
    case 'FetchRequest': {
      const p = first(body.responses);
      if (p === undefined) return null;
      const diverging = p.divergingEpoch as { epoch: number; endOffset: bigint };
      const snapshot = p.snapshotId as { endOffset: bigint; epoch: number };
      const leader = p.currentLeader as { leaderId: number; leaderEpoch: number };
      const message: FetchResponse = {
        kind: 'FetchResponse',
        fetchId: request.fetchId,
        errorCode: p.errorCode as number,
        leaderEpoch: leader.leaderEpoch,
        leaderId: leader.leaderId,
        highWatermark: Number(p.highWatermark as bigint),
        logStartOffset: Number(p.logStartOffset as bigint),
        entries: await decodeEntries(p.records as Uint8Array | null),
        divergingEpoch:
          diverging.epoch < 0 ? null : { epoch: diverging.epoch, endOffset: Number(diverging.endOffset) },
        snapshotId:
          snapshot.epoch < 0 ? null : { endOffset: Number(snapshot.endOffset), epoch: snapshot.epoch },
      };
      return message;
    }
    case 'FetchSnapshotRequest': {
      const p = first(body.topics);
      if (p === undefined) return null;
      const id = p.snapshotId as { endOffset: bigint; epoch: number };
      const leader = p.currentLeader as { leaderId: number; leaderEpoch: number };
      const message: FetchSnapshotResponse = {
        kind: 'FetchSnapshotResponse',
        errorCode: p.errorCode as number,
        leaderEpoch: leader.leaderEpoch,
        leaderId: leader.leaderId,
        snapshotId: { endOffset: Number(id.endOffset), epoch: id.epoch },
        size: Number(p.size as bigint),
        position: Number(p.position as bigint),
        bytes: (p.unalignedRecords as Uint8Array | null) ?? new Uint8Array(0),
      };
      return message;
    }
    default:
      return null;
  }
}
