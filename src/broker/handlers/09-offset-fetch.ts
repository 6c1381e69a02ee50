/** OffsetFetch 0-9: committed offsets of one group (v0-7) or several (v8+); null topics = all. */

import type { FetchOffsetsResult } from '../../coordinator/group-coordinator.ts';
import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, OffsetFetchRequestData, OffsetFetchResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler, type RequestContext } from '../handler.ts';

type Topics = { name: string; partitionIndexes: number[] }[] | null;

function fetchGroup(
  context: RequestContext,
  groupId: string,
  topics: Topics,
  requireStable: boolean,
): FetchOffsetsResult {
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
  const result = runtime.coordinator.fetchOffsets(groupId, requested);
  if (!requireStable) return result;
  // RequireStable (v7+): an offset a transaction has committed but not yet ended is UNSTABLE_OFFSET_COMMIT (retried).
  const coordinator = runtime.coordinator;
  return {
    errorCode: result.errorCode,
    topics: result.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) =>
        coordinator.hasPendingTransactionalOffset(groupId, t.name, p.partitionIndex)
          ? { ...p, committedOffset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
          : p,
      ),
    })),
  };
}

/**
 * OffsetFetch v9 from a member of a KIP-848 consumer group names its member id and epoch: an
 * unknown member gets UNKNOWN_MEMBER_ID, another epoch STALE_MEMBER_EPOCH, as in Kafka. Without a
 * member id and with epoch -1 (admin clients), or for other groups, nothing is checked.
 */
function consumerMemberError(
  context: RequestContext,
  groupId: string,
  memberId: string | null,
  memberEpoch: number,
): number | null {
  if ((memberId === null || memberId === '') && memberEpoch < 0) return null;
  const groups = runtimeOf(context)?.coordinator.consumerGroups;
  return groups?.offsetCommitError(groupId, memberId ?? '', memberEpoch, context.apiVersion) ?? null;
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
          const memberError =
            context.apiVersion >= 9
              ? consumerMemberError(context, g.groupId, g.memberId, g.memberEpoch)
              : null;
          if (memberError !== null) return { groupId: g.groupId, topics: [], errorCode: memberError };
          const result = fetchGroup(context, g.groupId, g.topics, request.requireStable);
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
      context.apiVersion >= 7 && request.requireStable,
    );
    return {
      throttleTimeMs: 0,
      topics: result.topics.map((t) => ({ name: t.name, partitions: [...t.partitions] })),
      errorCode: result.errorCode,
    };
  },
});
