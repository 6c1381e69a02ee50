import { array, field, request, response, struct } from '../schema.ts';

// DescribeProducers (API key 61), written from Kafka's DescribeProducersRequest/DescribeProducersResponse message definitions.

export const DescribeProducersRequest = request(61, 'DescribeProducersRequest', '0', '0+', [
  field(
    'topics',
    array(
      struct('TopicRequest', [
        field('name', 'string', '0+'),
        field('partitionIndexes', array('int32'), '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const DescribeProducersResponse = response(61, 'DescribeProducersResponse', '0', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'topics',
    array(
      struct('TopicResponse', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('PartitionResponse', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
              field(
                'activeProducers',
                array(
                  struct('ProducerState', [
                    field('producerId', 'int64', '0+'),
                    field('producerEpoch', 'int32', '0+'),
                    field('lastSequence', 'int32', '0+', { default: -1 }),
                    field('lastTimestamp', 'int64', '0+', { default: -1n }),
                    field('coordinatorEpoch', 'int32', '0+'),
                    field('currentTxnStartOffset', 'int64', '0+', { default: -1n }),
                  ]),
                ),
                '0+',
              ),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DescribeProducersRequest (every version's fields; absent ones hold their default). */
export type DescribeProducersRequestData = {
  topics: {
    name: string;
    partitionIndexes: number[];
  }[];
};

/** A decoded DescribeProducersResponse (every version's fields; absent ones hold their default). */
export type DescribeProducersResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      errorMessage: string | null;
      activeProducers: {
        producerId: bigint;
        producerEpoch: number;
        lastSequence: number;
        lastTimestamp: bigint;
        coordinatorEpoch: number;
        currentTxnStartOffset: bigint;
      }[];
    }[];
  }[];
};
