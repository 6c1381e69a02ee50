import { field, request, response } from '../schema.ts';

// InitProducerId (API key 22), written from Kafka's InitProducerIdRequest/InitProducerIdResponse message definitions.

export const InitProducerIdRequest = request(22, 'InitProducerIdRequest', '0-5', '2+', [
  field('transactionalId', 'string', '0+', { nullable: '0+' }),
  field('transactionTimeoutMs', 'int32', '0+'),
  field('producerId', 'int64', '3+', { default: -1n }),
  field('producerEpoch', 'int16', '3+', { default: -1 }),
]);

export const InitProducerIdResponse = response(22, 'InitProducerIdResponse', '0-5', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('producerId', 'int64', '0+', { default: -1n }),
  field('producerEpoch', 'int16', '0+'),
]);

/** A decoded InitProducerIdRequest (every version's fields; absent ones hold their default). */
export type InitProducerIdRequestData = {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId: bigint;
  producerEpoch: number;
};

/** A decoded InitProducerIdResponse (every version's fields; absent ones hold their default). */
export type InitProducerIdResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
};
