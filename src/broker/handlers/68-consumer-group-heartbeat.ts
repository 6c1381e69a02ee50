/** ConsumerGroupHeartbeat 0-1 (KIP-848): not supported; a clear error, never a crash. */

import { CONSUMER_PROTOCOL_UNSUPPORTED_MESSAGE } from '../../coordinator/handler-support.ts';
import type {
  ConsumerGroupHeartbeatRequestData,
  ConsumerGroupHeartbeatResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<
  ConsumerGroupHeartbeatRequestData,
  Input<ConsumerGroupHeartbeatResponseData>
>({
  apiKey: 68,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  handle() {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      errorMessage: CONSUMER_PROTOCOL_UNSUPPORTED_MESSAGE,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  },
});
