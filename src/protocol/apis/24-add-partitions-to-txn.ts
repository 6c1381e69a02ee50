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
