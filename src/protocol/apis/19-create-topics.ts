import { array, field, request, response, struct } from '../schema.ts';

// CreateTopics (API key 19), written from Kafka's CreateTopicsRequest/CreateTopicsResponse message definitions.

export const CreateTopicsRequest = request(19, 'CreateTopicsRequest', '0-7', '5+', [
  field(
    'topics',
    array(
      struct('CreatableTopic', [
        field('name', 'string', '0+'),
        field('numPartitions', 'int32', '0+'),
        field('replicationFactor', 'int16', '0+'),
        field(
          'assignments',
          array(
            struct('CreatableReplicaAssignment', [
              field('partitionIndex', 'int32', '0+'),
              field('brokerIds', array('int32'), '0+'),
            ]),
          ),
          '0+',
        ),
        field(
          'configs',
          array(
            struct('CreatableTopicConfig', [
              field('name', 'string', '0+'),
              field('value', 'string', '0+', { nullable: '0+' }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('timeoutMs', 'int32', '0+', { default: 60000 }),
  field('validateOnly', 'bool', '1+', { default: false }),
]);

export const CreateTopicsResponse = response(19, 'CreateTopicsResponse', '0-7', '5+', [
  field('throttleTimeMs', 'int32', '2+'),
  field(
    'topics',
    array(
      struct('CreatableTopicResult', [
        field('name', 'string', '0+'),
        field('topicId', 'uuid', '7+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '1+', { nullable: '0+' }),
        field('topicConfigErrorCode', 'int16', '5+', { tag: 0 }),
        field('numPartitions', 'int32', '5+', { default: -1 }),
        field('replicationFactor', 'int16', '5+', { default: -1 }),
        field(
          'configs',
          array(
            struct('CreatableTopicConfigs', [
              field('name', 'string', '5+'),
              field('value', 'string', '5+', { nullable: '5+' }),
              field('readOnly', 'bool', '5+'),
              field('configSource', 'int8', '5+', { default: -1 }),
              field('isSensitive', 'bool', '5+'),
            ]),
          ),
          '5+',
          { nullable: '5+' },
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded CreateTopicsRequest (every version's fields; absent ones hold their default). */
export type CreateTopicsRequestData = {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: {
      partitionIndex: number;
      brokerIds: number[];
    }[];
    configs: {
      name: string;
      value: string | null;
    }[];
  }[];
  timeoutMs: number;
  validateOnly: boolean;
};

/** A decoded CreateTopicsResponse (every version's fields; absent ones hold their default). */
export type CreateTopicsResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    topicId: string;
    errorCode: number;
    errorMessage: string | null;
    topicConfigErrorCode: number;
    numPartitions: number;
    replicationFactor: number;
    configs:
      | {
          name: string;
          value: string | null;
          readOnly: boolean;
          configSource: number;
          isSensitive: boolean;
        }[]
      | null;
  }[];
};
