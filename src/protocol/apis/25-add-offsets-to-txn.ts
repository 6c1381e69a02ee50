import { field, request, response } from '../schema.ts';

// AddOffsetsToTxn (API key 25), written from Kafka's AddOffsetsToTxnRequest/AddOffsetsToTxnResponse message definitions.

export const AddOffsetsToTxnRequest = request(25, 'AddOffsetsToTxnRequest', '0-4', '3+', [
  field('transactionalId', 'string', '0+'),
  field('producerId', 'int64', '0+'),
  field('producerEpoch', 'int16', '0+'),
  field('groupId', 'string', '0+'),
]);

export const AddOffsetsToTxnResponse = response(25, 'AddOffsetsToTxnResponse', '0-4', '3+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
]);

/** A decoded AddOffsetsToTxnRequest (every version's fields; absent ones hold their default). */
export type AddOffsetsToTxnRequestData = {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  groupId: string;
};

/** A decoded AddOffsetsToTxnResponse (every version's fields; absent ones hold their default). */
export type AddOffsetsToTxnResponseData = {
  throttleTimeMs: number;
  errorCode: number;
};
