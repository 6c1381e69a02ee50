import { array, field, request, response, struct } from '../schema.ts';

// CreatePartitions (API key 37), written from Kafka's CreatePartitionsRequest/CreatePartitionsResponse message definitions.

export const CreatePartitionsRequest = request(37, 'CreatePartitionsRequest', '0-3', '2+', [
  field(
    'topics',
    array(
      struct('CreatePartitionsTopic', [
        field('name', 'string', '0+'),
        field('count', 'int32', '0+'),
        field(
          'assignments',
          array(struct('CreatePartitionsAssignment', [field('brokerIds', array('int32'), '0+')])),
          '0+',
          { nullable: '0+' },
        ),
      ]),
    ),
    '0+',
  ),
  field('timeoutMs', 'int32', '0+'),
  field('validateOnly', 'bool', '0+'),
]);

export const CreatePartitionsResponse = response(37, 'CreatePartitionsResponse', '0-3', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'results',
    array(
      struct('CreatePartitionsTopicResult', [
        field('name', 'string', '0+'),
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded CreatePartitionsRequest (every version's fields; absent ones hold their default). */
export type CreatePartitionsRequestData = {
  topics: {
    name: string;
    count: number;
    assignments:
      | {
          brokerIds: number[];
        }[]
      | null;
  }[];
  timeoutMs: number;
  validateOnly: boolean;
};

/** A decoded CreatePartitionsResponse (every version's fields; absent ones hold their default). */
export type CreatePartitionsResponseData = {
  throttleTimeMs: number;
  results: {
    name: string;
    errorCode: number;
    errorMessage: string | null;
  }[];
};
