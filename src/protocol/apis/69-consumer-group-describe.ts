import { array, field, request, response, struct } from '../schema.ts';

// ConsumerGroupDescribe (API key 69), written from Kafka's ConsumerGroupDescribeRequest/ConsumerGroupDescribeResponse message definitions.

const TopicPartitions = struct('TopicPartitions', [
  field('topicId', 'uuid', '0+'),
  field('topicName', 'string', '0+'),
  field('partitions', array('int32'), '0+'),
]);

const Assignment = struct('Assignment', [field('topicPartitions', array(TopicPartitions), '0+')]);

export const ConsumerGroupDescribeRequest = request(69, 'ConsumerGroupDescribeRequest', '0', '0+', [
  field('groupIds', array('string'), '0+'),
  field('includeAuthorizedOperations', 'bool', '0+'),
]);

export const ConsumerGroupDescribeResponse = response(69, 'ConsumerGroupDescribeResponse', '0', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'groups',
    array(
      struct('DescribedGroup', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        field('groupId', 'string', '0+'),
        field('groupState', 'string', '0+'),
        field('groupEpoch', 'int32', '0+'),
        field('assignmentEpoch', 'int32', '0+'),
        field('assignorName', 'string', '0+'),
        field(
          'members',
          array(
            struct('Member', [
              field('memberId', 'string', '0+'),
              field('instanceId', 'string', '0+', { nullable: '0+', default: null }),
              field('rackId', 'string', '0+', { nullable: '0+', default: null }),
              field('memberEpoch', 'int32', '0+'),
              field('clientId', 'string', '0+'),
              field('clientHost', 'string', '0+'),
              field('subscribedTopicNames', array('string'), '0+'),
              field('subscribedTopicRegex', 'string', '0+', { nullable: '0+', default: null }),
              field('assignment', Assignment, '0+'),
              field('targetAssignment', Assignment, '0+'),
            ]),
          ),
          '0+',
        ),
        field('authorizedOperations', 'int32', '0+', { default: -2147483648 }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded ConsumerGroupDescribeRequest (every version's fields; absent ones hold their default). */
export type ConsumerGroupDescribeRequestData = {
  groupIds: string[];
  includeAuthorizedOperations: boolean;
};

/** A decoded ConsumerGroupDescribeResponse (every version's fields; absent ones hold their default). */
export type ConsumerGroupDescribeResponseData = {
  throttleTimeMs: number;
  groups: {
    errorCode: number;
    errorMessage: string | null;
    groupId: string;
    groupState: string;
    groupEpoch: number;
    assignmentEpoch: number;
    assignorName: string;
    members: {
      memberId: string;
      instanceId: string | null;
      rackId: string | null;
      memberEpoch: number;
      clientId: string;
      clientHost: string;
      subscribedTopicNames: string[];
      subscribedTopicRegex: string | null;
      assignment: {
        topicPartitions: {
          topicId: string;
          topicName: string;
          partitions: number[];
        }[];
      };
      targetAssignment: {
        topicPartitions: {
          topicId: string;
          topicName: string;
          partitions: number[];
        }[];
      };
    }[];
    authorizedOperations: number;
  }[];
};
