import { array, field, request, response, struct } from '../schema.ts';

// AddPartitionsToTxn (API key 24), written from Kafka's AddPartitionsToTxnRequest/AddPartitionsToTxnResponse message definitions.

const AddPartitionsToTxnTopic = struct('AddPartitionsToTxnTopic', [
  field('name', 'string', '0+'),
  field('partitions', array('int32'), '0+'),
]);

const AddPartitionsToTxnPartitionResult = struct('AddPartitionsToTxnPartitionResult', [
  field('partitionIndex', 'int32', '0+'),
  field('partitionErrorCode', 'int16', '0+'),
]);

const AddPartitionsToTxnTopicResult = struct('AddPartitionsToTxnTopicResult', [
  field('name', 'string', '0+'),
  field('resultsByPartition', array(AddPartitionsToTxnPartitionResult), '0+'),
]);

export const AddPartitionsToTxnRequest = request(24, 'AddPartitionsToTxnRequest', '0-5', '3+', [
  field(
    'transactions',
    array(
      struct('AddPartitionsToTxnTransaction', [
        field('transactionalId', 'string', '4+'),
        field('producerId', 'int64', '4+'),
        field('producerEpoch', 'int16', '4+'),
        field('verifyOnly', 'bool', '4+', { default: false }),
        field('topics', array(AddPartitionsToTxnTopic), '4+'),
      ]),
    ),
    '4+',
  ),
  field('v3AndBelowTransactionalId', 'string', '0-3'),
  field('v3AndBelowProducerId', 'int64', '0-3'),
  field('v3AndBelowProducerEpoch', 'int16', '0-3'),
  field('v3AndBelowTopics', array(AddPartitionsToTxnTopic), '0-3'),
]);

export const AddPartitionsToTxnResponse = response(24, 'AddPartitionsToTxnResponse', '0-5', '3+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '4+'),
  field(
    'resultsByTransaction',
    array(
      struct('AddPartitionsToTxnResult', [
        field('transactionalId', 'string', '4+'),
        field('topicResults', array(AddPartitionsToTxnTopicResult), '4+'),
      ]),
    ),
    '4+',
  ),
  field('resultsByTopicV3AndBelow', array(AddPartitionsToTxnTopicResult), '0-3'),
]);

/** A decoded AddPartitionsToTxnRequest (every version's fields; absent ones hold their default). */
export type AddPartitionsToTxnRequestData = {
  transactions: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    verifyOnly: boolean;
    topics: {
      name: string;
      partitions: number[];
    }[];
  }[];
  v3AndBelowTransactionalId: string;
  v3AndBelowProducerId: bigint;
  v3AndBelowProducerEpoch: number;
  v3AndBelowTopics: {
    name: string;
    partitions: number[];
  }[];
};

/** A decoded AddPartitionsToTxnResponse (every version's fields; absent ones hold their default). */
export type AddPartitionsToTxnResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  resultsByTransaction: {
    transactionalId: string;
    topicResults: {
      name: string;
      resultsByPartition: {
        partitionIndex: number;
        partitionErrorCode: number;
      }[];
    }[];
  }[];
  resultsByTopicV3AndBelow: {
    name: string;
    resultsByPartition: {
      partitionIndex: number;
      partitionErrorCode: number;
    }[];
  }[];
};
