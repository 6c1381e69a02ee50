/**
 * ConsumerGroupHeartbeat 0-1 (KIP-848): joins, heartbeats and leaves a consumer group; the
 * answer carries the member epoch and, when it changed, the member's assignment. v1 adds the
 * regex subscription and makes the client name its member id.
 */

import { brokerSetting } from '../../coordinator/group-config-handlers.ts';
import { consumerGroupTimings } from '../../coordinator/group-configs.ts';
import { clientHostOf, runtimeOf } from '../../coordinator/handler-support.ts';
import type {
  ConsumerGroupHeartbeatRequestData,
  ConsumerGroupHeartbeatResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

function failure(errorCode: number, errorMessage: string | null): Input<ConsumerGroupHeartbeatResponseData> {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  };
}

export const handler = defineHandler<
  ConsumerGroupHeartbeatRequestData,
  Input<ConsumerGroupHeartbeatResponseData>
>({
  apiKey: 68,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const runtime = runtimeOf(context);
    const groups = runtime?.coordinator.consumerGroups;
    if (runtime === undefined || groups === null || groups === undefined) {
      return failure(ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
    }
    if (request.groupId === '') return failure(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.");
    const coordinatorError = runtime.coordinator.coordinatorError(request.groupId);
    if (coordinatorError !== null) return failure(coordinatorError, null);
    const result = await groups.heartbeatAndPersist({
      apiVersion: context.apiVersion,
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: context.apiVersion >= 1 ? request.subscribedTopicRegex : null,
      serverAssignor: request.serverAssignor,
      ownedPartitions: request.topicPartitions,
      clientId: context.clientId ?? '',
      clientHost: clientHostOf(context),
      // The group's own session timeout and heartbeat interval (GROUP configs), else the broker's.
      groupTimings: consumerGroupTimings(
        brokerOf(context).metadata().groupConfigs.get(request.groupId),
        brokerSetting(brokerOf(context)),
      ),
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      memberId: result.memberId,
      memberEpoch: result.memberEpoch,
      heartbeatIntervalMs: result.heartbeatIntervalMs,
      assignment: result.assignment === null ? null : { topicPartitions: result.assignment },
    };
  },
});
