import { array, field, request, response, struct } from '../schema.ts';

// DescribeTopicPartitions (API key 75), written from Kafka's DescribeTopicPartitionsRequest/DescribeTopicPartitionsResponse message definitions.

const cursor = (name: string) =>
  struct(name, [field('topicName', 'string', '0+'), field('partitionIndex', 'int32', '0+')]);

export const DescribeTopicPartitionsRequest = request(75, 'DescribeTopicPartitionsRequest', '0', '0+', [
  field('topics', array(struct('TopicRequest', [field('name', 'string', '0+')])), '0+'),
  field('responsePartitionLimit', 'int32', '0+', { default: 2000 }),
  field('cursor', cursor('Cursor'), '0+', { nullable: '0+', default: null }),
]);

export const DescribeTopicPartitionsResponse = response(75, 'DescribeTopicPartitionsResponse', '0', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'topics',
    array(
      struct('DescribeTopicPartitionsResponseTopic', [
        field('errorCode', 'int16', '0+'),
        field('name', 'string', '0+', { nullable: '0+' }),
        field('topicId', 'uuid', '0+'),
        field('isInternal', 'bool', '0+', { default: false }),
        field(
          'partitions',
          array(
            struct('DescribeTopicPartitionsResponsePartition', [
              field('errorCode', 'int16', '0+'),
              field('partitionIndex', 'int32', '0+'),
              field('leaderId', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+', { default: -1 }),
              field('replicaNodes', array('int32'), '0+'),
              field('isrNodes', array('int32'), '0+'),
              field('eligibleLeaderReplicas', array('int32'), '0+', { nullable: '0+', default: null }),
              field('lastKnownElr', array('int32'), '0+', { nullable: '0+', default: null }),
              field('offlineReplicas', array('int32'), '0+'),
            ]),
          ),
          '0+',
        ),
        field('topicAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
      ]),
    ),
    '0+',
  ),
  field('nextCursor', cursor('Cursor'), '0+', { nullable: '0+', default: null }),
]);

/** A decoded DescribeTopicPartitionsRequest (every version's fields; absent ones hold their default). */
export type DescribeTopicPartitionsRequestData = {
  topics: { name: string }[];
  responsePartitionLimit: number;
  cursor: { topicName: string; partitionIndex: number } | null;
};

/** A decoded DescribeTopicPartitionsResponse (every version's fields; absent ones hold their default). */
export type DescribeTopicPartitionsResponseData = {
  throttleTimeMs: number;
  topics: {
    errorCode: number;
    name: string | null;
    topicId: string;
    isInternal: boolean;
    partitions: {
      errorCode: number;
      partitionIndex: number;
      leaderId: number;
      leaderEpoch: number;
      replicaNodes: number[];
      isrNodes: number[];
      eligibleLeaderReplicas: number[] | null;
      lastKnownElr: number[] | null;
      offlineReplicas: number[];
    }[];
    topicAuthorizedOperations: number;
  }[];
  nextCursor: { topicName: string; partitionIndex: number } | null;
};
