/**
 * DescribeGroups 0-6: state, protocol, members (with metadata and assignment once stable); v6
 * (KIP-1043) answers a consumer group or an unknown id GROUP_ID_NOT_FOUND with a message, as Kafka 4.1.1.
 */

import {
  AUTHORIZED_OPERATIONS_OMITTED,
  GROUP_AUTHORIZED_OPERATIONS,
  runtimeOf,
} from '../../coordinator/handler-support.ts';
import type { DescribeGroupsRequestData, DescribeGroupsResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<DescribeGroupsRequestData, Input<DescribeGroupsResponseData>>({
  apiKey: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 6,
  handle(request, context) {
    const runtime = runtimeOf(context);
    const authorizedOperations =
      context.apiVersion >= 3 && request.includeAuthorizedOperations
        ? GROUP_AUTHORIZED_OPERATIONS
        : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        if (runtime === undefined) {
          return {
            errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
            errorMessage: null,
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations,
          };
        }
        const described = runtime.coordinator.describeGroup(groupId, context.apiVersion);
        return { ...described, members: [...described.members], authorizedOperations };
      }),
    };
  },
});
