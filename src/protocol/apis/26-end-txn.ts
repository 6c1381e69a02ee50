import { field, request, response } from '../schema.ts';

// EndTxn (API key 26), written from Kafka's EndTxnRequest/EndTxnResponse message definitions.

export const EndTxnRequest = request(26, 'EndTxnRequest', '0-5', '3+', [
  field('transactionalId', 'string', '0+'),
  field('producerId', 'int64', '0+'),
  field('producerEpoch', 'int16', '0+'),
  field('committed', 'bool', '0+'),
]);

export const EndTxnResponse = response(26, 'EndTxnResponse', '0-5', '3+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('producerId', 'int64', '5+', { default: -1n }),
  field('producerEpoch', 'int16', '5+', { default: -1 }),
]);

/** A decoded EndTxnRequest (every version's fields; absent ones hold their default). */
export type EndTxnRequestData = {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  committed: boolean;
};

/** A decoded EndTxnResponse (every version's fields; absent ones hold their default). */
export type EndTxnResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
};
