/**
 * TxnOffsetCommit 0-5: offsets committed inside a transaction, at the group coordinator. The
 * producer's transaction must hold the group's `__consumer_offsets` partition: added by the
 * client with AddOffsetsToTxn up to v4; from v5 (transaction version 2, where the client sends no
 * AddOffsetsToTxn) the group coordinator adds it on the producer's behalf first, as a partition
 * leader does for Produce v12 (CONCURRENT_TRANSACTIONS while the previous transaction completes,
 * which the client retries; a refusal that is not the producer's fencing is TRANSACTION_ABORTABLE);
 * on a cluster this is checked only when this broker is also the producer's transaction coordinator;
 * the group checks of KIP-447 (v3+: generation, member id, instance id) apply; the offsets stay
 * invisible to OffsetFetch until the commit marker.
 */
import { runtimeOf } from '../../coordinator/handler-support.ts';
import { OFFSETS_TOPIC_NAME } from '../../coordinator/offsets-log.ts';
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import {
  ErrorCode,
  type Input,
  TxnOffsetCommitRequest,
  type TxnOffsetCommitRequestData,
  TxnOffsetCommitResponse,
  type TxnOffsetCommitResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

/** From this version the group coordinator adds the offsets partition to the transaction itself. */
const IMPLICIT_ADD_VERSION = 5;

export const handler = defineHandler<TxnOffsetCommitRequestData, Input<TxnOffsetCommitResponseData>>({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  // v5 only as far as the protocol module's schema decodes it (advertise only what is served).
  maxVersion: Math.min(
    IMPLICIT_ADD_VERSION,
    TxnOffsetCommitRequest.validVersions.max,
    TxnOffsetCommitResponse.validVersions.max,
  ),
  async handle(request, context) {
    const all = (errorOf: (topic: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: errorOf(t.name, p.partitionIndex),
        })),
      })),
    });
    const transactions = transactionsOf(context);
    const groups = runtimeOf(context);
    if (transactions === undefined || groups === undefined)
      return all(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const coordinatorError = groups.coordinator.coordinatorError(request.groupId);
    if (coordinatorError !== null) return all(() => coordinatorError);
    const offsetsPartition = {
      topic: OFFSETS_TOPIC_NAME,
      partition: groups.coordinator.partitionFor(request.groupId),
    };
    if (context.apiVersion >= IMPLICIT_ADD_VERSION) {
      const added = await transactions.addPartitionForProducer(
        request.transactionalId,
        request.producerId,
        request.producerEpoch,
        offsetsPartition,
      );
      if (added !== ErrorCode.NONE) {
        const passed = [
          ErrorCode.PRODUCER_FENCED,
          ErrorCode.INVALID_PRODUCER_EPOCH,
          ErrorCode.CONCURRENT_TRANSACTIONS,
          ErrorCode.NOT_COORDINATOR,
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ];
        const errorCode = passed.includes(added) ? added : ErrorCode.TRANSACTION_ABORTABLE;
        return all(() => errorCode);
      }
    }
    // On a cluster the producer's transaction coordinator may be another broker: then unverified,
    // as its produce batches are (TransactionRuntime.verifiesHere).
    const refused = transactions.verifiesHere(request.producerId)
      ? transactions.coordinator.verifyPartition(request.producerId, request.producerEpoch, offsetsPartition)
      : null;
    if (refused !== null) {
      const errorCode =
        refused.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH
          ? fencedFor(ErrorCode.PRODUCER_FENCED, context.apiVersion, 2)
          : refused.errorCode;
      return all(() => errorCode);
    }
    const v3 = context.apiVersion >= 3;
    const results = await groups.coordinator.commitTransactionalOffsets(
      {
        groupId: request.groupId,
        generationId: v3 ? request.generationId : -1,
        memberId: v3 ? request.memberId : '',
        groupInstanceId: v3 ? request.groupInstanceId : null,
        retentionTimeMs: -1,
        offsets: request.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.committedMetadata,
          })),
        ),
      },
      request.producerId,
      request.producerEpoch,
    );
    const byPartition = new Map(results.map((r) => [`${r.topic}\u0000${r.partition}`, r.errorCode]));
    return all(
      (topic, partition) => byPartition.get(`${topic}\u0000${partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
    );
  },
});
