import { array, field, request, response, struct } from '../schema.ts';

// AlterConfigs (API key 33), written from Kafka's AlterConfigsRequest/AlterConfigsResponse message definitions.

export const AlterConfigsRequest = request(33, 'AlterConfigsRequest', '0-2', '2+', [
  field(
    'resources',
    array(
      struct('AlterConfigsResource', [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field(
          'configs',
          array(
            struct('AlterableConfig', [
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
  field('validateOnly', 'bool', '0+'),
]);

export const AlterConfigsResponse = response(33, 'AlterConfigsResponse', '0-2', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'responses',
    array(
      struct('AlterConfigsResourceResponse', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+' }),
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded AlterConfigsRequest (every version's fields; absent ones hold their default). */
export type AlterConfigsRequestData = {
  resources: {
    resourceType: number;
    resourceName: string;
    configs: {
      name: string;
      value: string | null;
    }[];
  }[];
  validateOnly: boolean;
};

/** A decoded AlterConfigsResponse (every version's fields; absent ones hold their default). */
export type AlterConfigsResponseData = {
  throttleTimeMs: number;
  responses: {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
  }[];
};
