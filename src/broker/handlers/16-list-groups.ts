/** ListGroups 0-5: the groups this broker coordinates, filtered by state (v4+) and type (v5+). */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, ListGroupsRequestData, ListGroupsResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<ListGroupsRequestData, Input<ListGroupsResponseData>>({
  apiKey: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] };
    const version = context.apiVersion;
    const groups = runtime.coordinator.listGroups(
      version >= 4 ? request.statesFilter : [],
      version >= 5 ? request.typesFilter : [],
    );
    const errorCode = runtime.coordinator.isLoading()
      ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      : ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode, groups };
  },
});
