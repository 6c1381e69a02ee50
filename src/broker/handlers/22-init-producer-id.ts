/**
 * InitProducerId 0-5: a new producer id (epoch 0) for every idempotent producer, as Kafka
 * does when no transactional id is given; transactional ids are refused until transactions land.
 */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { InitProducerIdRequestData, InitProducerIdResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<InitProducerIdRequestData, Input<InitProducerIdResponseData>>({
  apiKey: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    const failed = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    if (request.transactionalId !== null) return failed(ErrorCode.UNSUPPORTED_VERSION);
    const runtime = runtimeOf(context);
    if (runtime === undefined) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      producerId: runtime.producerIds.nextProducerId(),
      producerEpoch: 0,
    };
  },
});
