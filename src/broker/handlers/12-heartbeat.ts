/** Heartbeat 0-4: keeps a member's session alive; tells it when a rebalance is on. */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { HeartbeatRequestData, HeartbeatResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<HeartbeatRequestData, Input<HeartbeatResponseData>>({
  apiKey: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const errorCode = runtime.coordinator.heartbeat({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: context.apiVersion >= 3 ? request.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
