/** FindCoordinator 0-6: the broker leading the group's `__consumer_offsets` partition (batched keys from v4). */

import { runtimeOf, TRANSACTIONS_UNSUPPORTED_MESSAGE } from '../../coordinator/handler-support.ts';
import { OFFSETS_TOPIC_NAME } from '../../coordinator/offsets-log.ts';
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

async function find(key: string, keyType: number, context: RequestContext): Promise<Found> {
  if (keyType === KEY_TYPE_TRANSACTION)
    return failure(key, ErrorCode.UNSUPPORTED_VERSION, TRANSACTIONS_UNSUPPORTED_MESSAGE);
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
  const metadata = context.broker.metadata();
  const partition = metadata.topic(OFFSETS_TOPIC_NAME)?.partitions[runtime.coordinator.partitionFor(key)];
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
