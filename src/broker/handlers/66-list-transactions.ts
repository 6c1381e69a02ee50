/**
 * ListTransactions 0-2: the transactional ids this coordinator holds, filtered by state names,
 * producer ids, (v1, KIP-994) how long an Ongoing transaction has run and (v2, KIP-1152) a regular
 * expression the whole transactional id matches; state filters that name no state come back in
 * `unknownStateFilters`. The expression is RE2 syntax, read as Kafka's re2j reads it (`../re2j.ts`).
 */
import { TRANSACTION_STATES } from '../../coordinator/transactions/coordinator.ts';
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  Input,
  ListTransactionsRequestData,
  ListTransactionsResponseData,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { compileRe2j, type WholeNameMatcher } from '../re2j.ts';

const KNOWN_STATES: readonly string[] = TRANSACTION_STATES;

export const handler = defineHandler<ListTransactionsRequestData, Input<ListTransactionsResponseData>>({
  apiKey: 66,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const transactions = transactionsOf(context);
    const unknownStateFilters = request.stateFilters.filter((s) => !KNOWN_STATES.includes(s));
    const pattern = context.apiVersion >= 2 ? idPattern(request.transactionalIdPattern) : null;
    if (pattern instanceof Error) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION,
        unknownStateFilters,
        transactionStates: [],
      };
    }
    if (transactions === undefined) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        unknownStateFilters,
        transactionStates: [],
      };
    }
    const durationMs = context.apiVersion >= 1 ? Number(request.durationFilter) : -1;
    const knownStateFilters = request.stateFilters.filter((s) => KNOWN_STATES.includes(s));
    // Filters naming only unknown states match nothing (an empty filter list matches everything).
    if (request.stateFilters.length > 0 && knownStateFilters.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: transactions.coordinator
        .list(knownStateFilters, request.producerIdFilters, durationMs)
        .filter((state) => pattern === null || pattern.test(state.transactionalId)),
    };
  },
});

/**
 * The v2 filter: null or empty matches every id; otherwise the whole id must match (Kafka's
 * re2j `Pattern.compile(pattern).matcher(id).matches()`). An invalid expression is an Error.
 */
function idPattern(source: string | null): WholeNameMatcher | Error | null {
  if (source === null || source === '') return null;
  try {
    return compileRe2j(source);
  } catch (error) {
    return error as Error;
  }
}
