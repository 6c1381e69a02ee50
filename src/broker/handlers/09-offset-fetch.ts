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
 * OffsetFetch v9 names a member id and epoch: against a KIP-848 consumer group they are checked as
 * Kafka 4.1.1's ConsumerGroup.validateOffsetFetch does (`ConsumerGroups.offsetFetchError`); other
 * groups check nothing.
 */
function consumerMemberError(
  context: RequestContext,
  groupId: string,
  memberId: string | null,
  memberEpoch: number,
): number | null {
  const groups = runtimeOf(context)?.coordinator.consumerGroups;
  return groups?.offsetFetchError(groupId, memberId, memberEpoch) ?? null;
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
