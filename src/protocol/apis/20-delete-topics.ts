import { array, field, request, response, struct } from '../schema.ts';

// DeleteTopics (API key 20), written from Kafka's DeleteTopicsRequest/DeleteTopicsResponse message definitions.

export const DeleteTopicsRequest = request(20, 'DeleteTopicsRequest', '0-6', '4+', [
  field(
    'topics',
    array(
      struct('DeleteTopicState', [
        field('name', 'string', '6+', { nullable: '6+', default: null }),
        field('topicId', 'uuid', '6+'),
      ]),
    ),
    '6+',
  ),
  field('topicNames', array('string'), '0-5'),
  field('timeoutMs', 'int32', '0+'),
]);

export const DeleteTopicsResponse = response(20, 'DeleteTopicsResponse', '0-6', '4+', [
  field('throttleTimeMs', 'int32', '1+'),
  field(
    'responses',
    array(
      struct('DeletableTopicResult', [
        field('name', 'string', '0+', { nullable: '6+' }),
        field('topicId', 'uuid', '6+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '5+', { nullable: '5+', default: null }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DeleteTopicsRequest (every version's fields; absent ones hold their default). */
export type DeleteTopicsRequestData = {
  topics: {
    name: string | null;
    topicId: string;
  }[];
  topicNames: string[];
  timeoutMs: number;
};

/** A decoded DeleteTopicsResponse (every version's fields; absent ones hold their default). */
export type DeleteTopicsResponseData = {
  throttleTimeMs: number;
  responses: {
    name: string | null;
    topicId: string;
    errorCode: number;
    errorMessage: string | null;
  }[];
};
