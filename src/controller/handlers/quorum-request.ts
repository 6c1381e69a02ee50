/**
 * The five quorum requests (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot) share one
 * path: check the cluster id and the sender, hand the message to the RaftDriver, encode its answer.
 */
import type { MessageValue } from '../../protocol/index.ts';
import { RaftError, type RaftMessage } from '../../raft/types.ts';
import type { ControllerRequestContext } from '../handler.ts';
import {
  decodeQuorumRequest,
  encodeQuorumResponse,
  METADATA_PARTITION,
  METADATA_TOPIC,
  QuorumRequestError,
} from '../wire.ts';

export const INCONSISTENT_CLUSTER_ID = 104;

/** A reply naming an error for the one partition (or the whole request for a top-level one). */
function errorAnswer(
  apiKey: number,
  context: ControllerRequestContext,
  request: RaftMessage | null,
  errorCode: number,
): RaftMessage {
  const { epoch, leaderId } = context.node.driver.leader();
  switch (apiKey) {
    case 52:
      return {
        kind: 'VoteResponse',
        errorCode,
        leaderEpoch: epoch,
        leaderId,
        voteGranted: false,
        candidateEpoch: request?.kind === 'VoteRequest' ? request.candidateEpoch : -1,
        preVote: request?.kind === 'VoteRequest' ? request.preVote : false,
      };
    case 53:
      return { kind: 'BeginQuorumEpochResponse', errorCode, leaderEpoch: epoch, leaderId };
    case 54:
      return { kind: 'EndQuorumEpochResponse', errorCode, leaderEpoch: epoch, leaderId };
    case 1:
      return {
        kind: 'FetchResponse',
        fetchId: -1,
        errorCode,
        leaderEpoch: epoch,
        leaderId,
        highWatermark: -1,
        logStartOffset: -1,
        entries: [],
        divergingEpoch: null,
        snapshotId: null,
      };
    default:
      return {
        kind: 'FetchSnapshotResponse',
        errorCode,
        leaderEpoch: epoch,
        leaderId,
        snapshotId: { endOffset: -1, epoch: -1 },
        size: 0,
        position: 0,
        bytes: new Uint8Array(0),
      };
  }
}

/** Requests only voters may send (fetches may also come from observers). */
const VOTER_ONLY = new Set([52, 53, 54]);

export async function answerQuorumRequest(
  apiKey: number,
  request: MessageValue,
  context: ControllerRequestContext,
): Promise<MessageValue> {
  const { node } = context;
  const now = Date.now();
  const clusterId = request.clusterId as string | null | undefined;
  if (clusterId !== null && clusterId !== undefined && clusterId !== node.driver.clusterId) {
    return {
      ...(await encodeQuorumResponse(apiKey, errorAnswer(apiKey, context, null, 0), now)),
      errorCode: INCONSISTENT_CLUSTER_ID,
    };
  }
  let decoded: { from: number; message: RaftMessage };
  try {
    decoded = decodeQuorumRequest(apiKey, context.apiVersion, request);
  } catch (error) {
    if (!(error instanceof QuorumRequestError)) throw error;
    node.log.warn(`${error.message} (API ${apiKey})`);
    return {
      ...(await encodeQuorumResponse(apiKey, errorAnswer(apiKey, context, null, 0), now)),
      errorCode: error.errorCode,
    };
  }
  const { from, message } = decoded;
  if (VOTER_ONLY.has(apiKey) && !node.driver.voters.some((voter) => voter.nodeId === from)) {
    return encodeQuorumResponse(
      apiKey,
      errorAnswer(apiKey, context, message, RaftError.INCONSISTENT_VOTER_SET),
      now,
    );
  }
  const fallbackCode =
    apiKey === 59 ? RaftError.SNAPSHOT_NOT_FOUND : apiKey === 1 ? RaftError.NOT_LEADER_OR_FOLLOWER : 0;
  const answer = node.driver.handleRequest(from, message, () =>
    errorAnswer(apiKey, context, message, fallbackCode),
  );
  // A Fetch the leader holds (the long poll) is answered when the replica completes it.
  return encodeQuorumResponse(apiKey, await answer, Date.now());
}

export { METADATA_PARTITION, METADATA_TOPIC };
