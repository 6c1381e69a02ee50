/** SyncGroup 0-5: the leader hands in the assignment; every member gets its own part, untouched. */

import { copyBytes, runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, SyncGroupRequestData, SyncGroupResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<SyncGroupRequestData, Input<SyncGroupResponseData>>({
  apiKey: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        assignment: new Uint8Array(),
      };
    }
    const version = context.apiVersion;
    const result = await runtime.coordinator.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: version >= 3 ? request.groupInstanceId : null,
      protocolType: version >= 5 ? request.protocolType : null,
      protocolName: version >= 5 ? request.protocolName : null,
      assignments: request.assignments.map((a) => ({
        memberId: a.memberId,
        assignment: copyBytes(a.assignment),
      })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
});
