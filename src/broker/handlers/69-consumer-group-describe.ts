/**
 * ConsumerGroupDescribe 0 (KIP-848): a consumer group's epochs, assignor and members with their
 * current and target assignments. A classic group answers GROUP_ID_NOT_FOUND "not a consumer
 * group", as Kafka does; Kafka's admin client then falls back to DescribeGroups.
 */

import type { Assignment } from '../../coordinator/assignors.ts';
import type { ConsumerGroup } from '../../coordinator/consumer-group.ts';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  GROUP_AUTHORIZED_OPERATIONS,
  runtimeOf,
} from '../../coordinator/handler-support.ts';
import type {
  ConsumerGroupDescribeRequestData,
  ConsumerGroupDescribeResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import type { RequestContext } from '../handler.ts';
import { defineHandler } from '../handler.ts';

type Described = ConsumerGroupDescribeResponseData['groups'][number];

function topicPartitions(assignment: Assignment, context: RequestContext) {
  const metadata = context.broker.metadata();
  return [...assignment].map(([topicId, partitions]) => ({
    topicId,
    topicName: metadata.topicById(topicId)?.name ?? '',
    partitions: [...partitions],
  }));
}

function describe(group: ConsumerGroup, context: RequestContext, authorizedOperations: number): Described {
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    groupId: group.groupId,
    groupState: group.state(),
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: group.assignorName,
    members: [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      instanceId: member.instanceId,
      rackId: member.rackId,
      memberEpoch: member.memberEpoch,
      clientId: member.clientId,
      clientHost: member.clientHost,
      subscribedTopicNames: [...member.subscribedTopicNames],
      subscribedTopicRegex: member.subscribedTopicRegex,
      assignment: { topicPartitions: topicPartitions(member.assigned, context) },
      targetAssignment: {
        topicPartitions: topicPartitions(group.target.get(member.memberId) ?? new Map(), context),
      },
    })),
    authorizedOperations,
  };
}

function failure(groupId: string, errorCode: number, errorMessage: string | null): Described {
  return {
    errorCode,
    errorMessage,
    groupId,
    groupState: '',
    groupEpoch: -1,
    assignmentEpoch: -1,
    assignorName: '',
    members: [],
    authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

export const handler = defineHandler<
  ConsumerGroupDescribeRequestData,
  Input<ConsumerGroupDescribeResponseData>
>({
  apiKey: 69,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const runtime = runtimeOf(context);
    const authorizedOperations = request.includeAuthorizedOperations
      ? GROUP_AUTHORIZED_OPERATIONS
      : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        if (runtime === undefined) return failure(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
        const coordinatorError = runtime.coordinator.coordinatorError(groupId);
        if (coordinatorError !== null) return failure(groupId, coordinatorError, null);
        const group = runtime.coordinator.consumerGroups?.group(groupId);
        if (group === undefined) {
          // Kafka's two texts: a classic group, or no group at all.
          const classic = runtime.coordinator.group(groupId);
          const message =
            classic !== undefined && !classic.is('Dead')
              ? `Group ${groupId} is not a consumer group.`
              : `Group ${groupId} not found.`;
          return failure(groupId, ErrorCode.GROUP_ID_NOT_FOUND, message);
        }
        return describe(group, context, authorizedOperations);
      }),
    };
  },
});
