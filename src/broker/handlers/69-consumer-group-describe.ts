/**
 * ConsumerGroupDescribe 0 (KIP-848): every group here is a classic group, so each answers
 * GROUP_ID_NOT_FOUND "not a consumer group", as Kafka does for classic groups; Kafka's
 * admin client then falls back to DescribeGroups.
 */

import { AUTHORIZED_OPERATIONS_OMITTED } from '../../coordinator/handler-support.ts';
import type {
  ConsumerGroupDescribeRequestData,
  ConsumerGroupDescribeResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<
  ConsumerGroupDescribeRequestData,
  Input<ConsumerGroupDescribeResponseData>
>({
  apiKey: 69,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 0,
  handle(request) {
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => ({
        errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
        errorMessage: `Group ${groupId} is not a consumer group.`,
        groupId,
        groupState: '',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: '',
        members: [],
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    };
  },
});
