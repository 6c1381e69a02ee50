/** AddOffsetsToTxn 0-4: adds the group's `__consumer_offsets` partition to the producer's transaction. */
import { runtimeOf } from '../../coordinator/handler-support.ts';
import { OFFSETS_TOPIC_NAME } from '../../coordinator/offsets-log.ts';
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { AddOffsetsToTxnRequestData, AddOffsetsToTxnResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<AddOffsetsToTxnRequestData, Input<AddOffsetsToTxnResponseData>>({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  async handle(request, context) {
    const answer = (errorCode: number) => ({ throttleTimeMs: 0, errorCode });
    const transactions = transactionsOf(context);
    const groups = runtimeOf(context);
    if (transactions === undefined || groups === undefined)
      return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (request.groupId === '') return answer(ErrorCode.INVALID_GROUP_ID);
    const offsetsReady = await groups.ensureOffsetsTopic();
    if (offsetsReady !== ErrorCode.NONE) return answer(offsetsReady);
    const errorCode = await transactions.coordinator.addPartitions(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      [{ topic: OFFSETS_TOPIC_NAME, partition: groups.coordinator.partitionFor(request.groupId) }],
    );
    return answer(fencedFor(errorCode, context.apiVersion, 2));
  },
});
