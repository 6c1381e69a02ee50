/** EndTxn 0-5: transactions are not supported yet (UNSUPPORTED_VERSION). */
import type { EndTxnRequestData, EndTxnResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<EndTxnRequestData, Input<EndTxnResponseData>>({
  apiKey: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 5,
  handle() {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      producerId: -1n,
      producerEpoch: -1,
    };
  },
});
