/** LeaveGroup 0-5: one member (v0-2) or several (v3+, also administrative removal by instance id). */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, LeaveGroupRequestData, LeaveGroupResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<LeaveGroupRequestData, Input<LeaveGroupResponseData>>({
  apiKey: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined)
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const several = context.apiVersion >= 3;
    const leaving = several
      ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
    const result = await runtime.coordinator.leaveGroup(request.groupId, leaving);
    // Before v3 the one member's error is the answer's error.
    const errorCode =
      !several && result.errorCode === ErrorCode.NONE
        ? (result.members[0]?.errorCode ?? ErrorCode.NONE)
        : result.errorCode;
    return { throttleTimeMs: 0, errorCode, members: [...result.members] };
  },
});
