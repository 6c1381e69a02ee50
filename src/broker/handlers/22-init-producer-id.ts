/**
 * InitProducerId 0-5: without a transactional id, a new producer id (epoch 0) for an idempotent
 * producer; with one, the transaction coordinator's id and bumped epoch (an ongoing transaction
 * of the previous incarnation is aborted first: CONCURRENT_TRANSACTIONS until it is).
 */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { InitProducerIdRequestData, InitProducerIdResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<InitProducerIdRequestData, Input<InitProducerIdResponseData>>({
  apiKey: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const failed = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    const runtime = runtimeOf(context);
    if (runtime === undefined) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (request.transactionalId === null) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: runtime.producerIds.nextProducerId(),
        producerEpoch: 0,
      };
    }
    const transactions = transactionsOf(context);
    if (transactions === undefined) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const result = await transactions.coordinator.initProducerId(
      request.transactionalId,
      request.transactionTimeoutMs,
      { producerId: request.producerId, producerEpoch: request.producerEpoch },
    );
    return { throttleTimeMs: 0, ...result, errorCode: fencedFor(result.errorCode, context.apiVersion, 4) };
  },
});
