import { array, field, request, response, struct } from '../schema.ts';

// ConsumerGroupHeartbeat (API key 68), written from Kafka's ConsumerGroupHeartbeatRequest/ConsumerGroupHeartbeatResponse message definitions.

const TopicPartitions = struct('TopicPartitions', [
  field('topicId', 'uuid', '0+'),
  field('partitions', array('int32'), '0+'),
]);

export const ConsumerGroupHeartbeatRequest = request(68, 'ConsumerGroupHeartbeatRequest', '0-1', '0+', [
  field('groupId', 'string', '0+'),
  field('memberId', 'string', '0+'),
  field('memberEpoch', 'int32', '0+'),
  field('instanceId', 'string', '0+', { nullable: '0+', default: null }),
  field('rackId', 'string', '0+', { nullable: '0+', default: null }),
  field('rebalanceTimeoutMs', 'int32', '0+', { default: -1 }),
  field('subscribedTopicNames', array('string'), '0+', { nullable: '0+', default: null }),
  field('subscribedTopicRegex', 'string', '1+', { nullable: '1+', default: null }),
  field('serverAssignor', 'string', '0+', { nullable: '0+', default: null }),
  field(
    'topicPartitions',
    array(
      struct('TopicPartitions', [field('topicId', 'uuid', '0+'), field('partitions', array('int32'), '0+')]),
    ),
    '0+',
    { nullable: '0+', default: null },
  ),
]);

export const ConsumerGroupHeartbeatResponse = response(68, 'ConsumerGroupHeartbeatResponse', '0-1', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  field('memberId', 'string', '0+', { nullable: '0+', default: null }),
  field('memberEpoch', 'int32', '0+'),
  field('heartbeatIntervalMs', 'int32', '0+'),
  field('assignment', struct('Assignment', [field('topicPartitions', array(TopicPartitions), '0+')]), '0+', {
    nullable: '0+',
    default: null,
  }),
]);

/** A decoded ConsumerGroupHeartbeatRequest (every version's fields; absent ones hold their default). */
export type ConsumerGroupHeartbeatRequestData = {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions:
    | {
        topicId: string;
        partitions: number[];
      }[]
    | null;
};

/** A decoded ConsumerGroupHeartbeatResponse (every version's fields; absent ones hold their default). */
export type ConsumerGroupHeartbeatResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: {
    topicPartitions: {
      topicId: string;
      partitions: number[];
    }[];
  } | null;
};
