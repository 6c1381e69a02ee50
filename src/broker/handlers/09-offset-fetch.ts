/** OffsetFetch 0-9: committed offsets of one group (v0-7) or several (v8+); null topics = all. */

import type { FetchOffsetsResult } from '../../coordinator/group-coordinator.ts';
import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, OffsetFetchRequestData, OffsetFetchResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler, type RequestContext } from '../handler.ts';

type Topics = { name: string; partitionIndexes: number[] }[] | null;

function fetchGroup(context: RequestContext, groupId: string, topics: Topics): FetchOffsetsResult {
  const requested =
    topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
  const runtime = runtimeOf(context);
  if (runtime === undefined) {
    return {
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      topics: (requested ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        })),
      })),
    };
  }
  return runtime.coordinator.fetchOffsets(groupId, requested);
}

export const handler = defineHandler<OffsetFetchRequestData, Input<OffsetFetchResponseData>>({
  apiKey: 9,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  handle(request, context) {
    if (context.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((g) => {
          const result = fetchGroup(context, g.groupId, g.topics);
          return {
            groupId: g.groupId,
            topics: result.topics.map((t) => ({ name: t.name, partitions: [...t.partitions] })),
            errorCode: result.errorCode,
          };
        }),
      };
    }
    const result = fetchGroup(
      context,
      request.groupId,
      context.apiVersion >= 2 ? request.topics : (request.topics ?? []),
    );
    return {
      throttleTimeMs: 0,
      topics: result.topics.map((t) => ({ name: t.name, partitions: [...t.partitions] })),
      errorCode: result.errorCode,
    };
  },
});
