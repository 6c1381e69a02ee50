/** JoinGroup 0-9: joins a classic group; the answer waits for the rebalance (see src/coordinator). */

import { clientHostOf, copyBytes, runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, JoinGroupRequestData, JoinGroupResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<JoinGroupRequestData, Input<JoinGroupResponseData>>({
  apiKey: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const version = context.apiVersion;
    const runtime = runtimeOf(context);
    if (runtime === undefined) {
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        memberId: request.memberId,
        protocolName: '',
        leader: '',
      };
    }
    const result = await runtime.coordinator.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: version >= 5 ? request.groupInstanceId : null,
      clientId: context.clientId ?? '',
      clientHost: clientHostOf(context),
      sessionTimeoutMs: request.sessionTimeoutMs,
      // v0 has no rebalance timeout: Kafka uses the session timeout.
      rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols.map((p) => ({ name: p.name, metadata: copyBytes(p.metadata) })),
      requireKnownMemberId: version >= 4,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      // Not nullable before v7.
      protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
      leader: result.leader,
      skipAssignment: result.skipAssignment,
      memberId: result.memberId,
      members: result.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        metadata: m.metadata,
      })),
    };
  },
});
