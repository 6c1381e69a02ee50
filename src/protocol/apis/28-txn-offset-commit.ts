import { array, field, request, response, struct } from '../schema.ts';

// TxnOffsetCommit (API key 28), written from Kafka's TxnOffsetCommitRequest/TxnOffsetCommitResponse message definitions.
// Version 5 has the fields of 4: under transaction version 2 (KIP-890) it also adds the offsets
// partition to the transaction, in place of AddOffsetsToTxn.

export const TxnOffsetCommitRequest = request(28, 'TxnOffsetCommitRequest', '0-5', '3+', [
  field('transactionalId', 'string', '0+'),
  field('groupId', 'string', '0+'),
  field('producerId', 'int64', '0+'),
  field('producerEpoch', 'int16', '0+'),
  field('generationId', 'int32', '3+', { default: -1 }),
  field('memberId', 'string', '3+', { default: '' }),
  field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  field(
    'topics',
    array(
      struct('TxnOffsetCommitRequestTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('TxnOffsetCommitRequestPartition', [
              field('partitionIndex', 'int32', '0+'),
              field('committedOffset', 'int64', '0+'),
              field('committedLeaderEpoch', 'int32', '2+', { default: -1 }),
              field('committedMetadata', 'string', '0+', { nullable: '0+' }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const TxnOffsetCommitResponse = response(28, 'TxnOffsetCommitResponse', '0-5', '3+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'topics',
    array(
      struct('TxnOffsetCommitResponseTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('TxnOffsetCommitResponsePartition', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded TxnOffsetCommitRequest (every version's fields; absent ones hold their default). */
export type TxnOffsetCommitRequestData = {
  transactionalId: string;
  groupId: string;
  producerId: bigint;
  producerEpoch: number;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }[];
  }[];
};

/** A decoded TxnOffsetCommitResponse (every version's fields; absent ones hold their default). */
export type TxnOffsetCommitResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
    }[];
  }[];
};
