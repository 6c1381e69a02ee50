/**
 * TxnOffsetCommit 0-4: offsets committed inside a transaction, at the group coordinator. The
 * producer's transaction must hold the group's `__consumer_offsets` partition (AddOffsetsToTxn);
 * on a cluster this is checked only when this broker is also the producer's transaction coordinator;
 * the group checks of KIP-447 (v3+: generation, member id, instance id) apply; the offsets stay
 * invisible to OffsetFetch until the commit marker.
 */
import { runtimeOf } from '../../coordinator/handler-support.ts';
import { OFFSETS_TOPIC_NAME } from '../../coordinator/offsets-log.ts';
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { Input, TxnOffsetCommitRequestData, TxnOffsetCommitResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<TxnOffsetCommitRequestData, Input<TxnOffsetCommitResponseData>>({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
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
    // On a cluster the producer's transaction coordinator may be another broker: then unverified,
    // as its produce batches are (TransactionRuntime.verifiesHere).
    const refused = transactions.verifiesHere(request.producerId)
      ? transactions.coordinator.verifyPartition(request.producerId, request.producerEpoch, {
          topic: OFFSETS_TOPIC_NAME,
          partition: groups.coordinator.partitionFor(request.groupId),
        })
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
