/** What the transaction handlers share: the runtime, the coordinator checks, Kafka's per-version error codes. */
import type { RequestContext } from '../../broker/handler.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { TRANSACTIONS, type TransactionRuntime } from './runtime.ts';

export function transactionsOf(context: RequestContext): TransactionRuntime | undefined {
  return context.broker.slots.get(TRANSACTIONS);
}

/**
 * PRODUCER_FENCED exists from the versions KIP-588 added (InitProducerId 4, AddPartitionsToTxn 2,
 * AddOffsetsToTxn 2, EndTxn 2, TxnOffsetCommit 2); older clients get INVALID_PRODUCER_EPOCH, as from Kafka.
 */
export function fencedFor(errorCode: number, version: number, firstVersionWithFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}
