/** AddOffsetsToTxn 0-4: transactions are not supported yet (UNSUPPORTED_VERSION). */
import type { AddOffsetsToTxnRequestData, AddOffsetsToTxnResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<AddOffsetsToTxnRequestData, Input<AddOffsetsToTxnResponseData>>({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  handle() {
    return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION };
  },
});
