/** DeleteGroups 0-2: deletes empty groups and their offsets (tombstones in `__consumer_offsets`). */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { DeleteGroupsRequestData, DeleteGroupsResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<DeleteGroupsRequestData, Input<DeleteGroupsResponseData>>({
  apiKey: 42,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined) {
      return {
        throttleTimeMs: 0,
        results: request.groupsNames.map((groupId) => ({
          groupId,
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        })),
      };
    }
    return { throttleTimeMs: 0, results: await runtime.coordinator.deleteGroups(request.groupsNames) };
  },
});
