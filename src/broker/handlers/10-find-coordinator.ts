/**
 * FindCoordinator 0-6: the broker leading the group's `__consumer_offsets` partition, or (key
 * type 1) the transactional id's `__transaction_state` partition (batched keys from v4). Both
 * topics are created on first use, as Kafka does.
 */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import { OFFSETS_TOPIC_NAME } from '../../coordinator/offsets-log.ts';
import { TRANSACTION_STATE_TOPIC } from '../../coordinator/transactions/coordinator.ts';
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { FindCoordinatorRequestData, FindCoordinatorResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler, type RequestContext } from '../handler.ts';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

interface Found {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

function failure(key: string, errorCode: number, errorMessage: string | null): Found {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage };
}

/** The broker leading `partitionIndex` of `topic`, as a FindCoordinator answer. */
function leaderOf(key: string, topic: string, partitionIndex: number, context: RequestContext): Found {
  const metadata = context.broker.metadata();
  const partition = metadata.topic(topic)?.partitions[partitionIndex];
  const leader = metadata.brokers().find((b) => b.nodeId === partition?.leaderId);
  if (leader === undefined)
    return failure(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator has no leader');
  return {
    key,
    nodeId: leader.nodeId,
    host: leader.host,
    port: leader.port,
    errorCode: 0,
    errorMessage: null,
  };
}

async function findTransactionCoordinator(key: string, context: RequestContext): Promise<Found> {
  const transactions = transactionsOf(context);
  if (transactions === undefined)
    return failure(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The transaction coordinator is not running');
  if (key === '') return failure(key, ErrorCode.INVALID_REQUEST, 'The transactional id is empty');
  const errorCode = await transactions.ensureTransactionTopic();
  if (errorCode !== ErrorCode.NONE)
    return failure(key, errorCode, `${TRANSACTION_STATE_TOPIC} is not available`);
  return leaderOf(key, TRANSACTION_STATE_TOPIC, transactions.coordinator.partitionFor(key), context);
}

async function find(key: string, keyType: number, context: RequestContext): Promise<Found> {
  if (keyType === KEY_TYPE_TRANSACTION) return findTransactionCoordinator(key, context);
  if (keyType !== KEY_TYPE_GROUP) {
    return failure(
      key,
      ErrorCode.INVALID_REQUEST,
      `Coordinator key type ${keyType} is not supported by kstack`,
    );
  }
  const runtime = runtimeOf(context);
  if (runtime === undefined)
    return failure(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The group coordinator is not running');
  const errorCode = await runtime.ensureOffsetsTopic();
  if (errorCode !== ErrorCode.NONE) return failure(key, errorCode, `${OFFSETS_TOPIC_NAME} is not available`);
  return leaderOf(key, OFFSETS_TOPIC_NAME, runtime.coordinator.partitionFor(key), context);
}

export const handler = defineHandler<FindCoordinatorRequestData, Input<FindCoordinatorResponseData>>({
  apiKey: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  async handle(request, context) {
    if (context.apiVersion >= 4) {
      const coordinators: Found[] = [];
      for (const key of request.coordinatorKeys) coordinators.push(await find(key, request.keyType, context));
      return { throttleTimeMs: 0, coordinators };
    }
    const found = await find(
      request.key,
      context.apiVersion >= 1 ? request.keyType : KEY_TYPE_GROUP,
      context,
    );
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      nodeId: found.nodeId,
      host: found.host,
      port: found.port,
    };
  },
});
