import { array, field, request, response, struct } from '../schema.ts';

// IncrementalAlterConfigs (API key 44), written from Kafka's IncrementalAlterConfigsRequest/IncrementalAlterConfigsResponse message definitions.

export const IncrementalAlterConfigsRequest = request(44, 'IncrementalAlterConfigsRequest', '0-1', '1+', [
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
              field('configOperation', 'int8', '0+'),
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

export const IncrementalAlterConfigsResponse = response(44, 'IncrementalAlterConfigsResponse', '0-1', '1+', [
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

/** A decoded IncrementalAlterConfigsRequest (every version's fields; absent ones hold their default). */
export type IncrementalAlterConfigsRequestData = {
  resources: {
    resourceType: number;
    resourceName: string;
    configs: {
      name: string;
      configOperation: number;
      value: string | null;
    }[];
  }[];
  validateOnly: boolean;
};

/** A decoded IncrementalAlterConfigsResponse (every version's fields; absent ones hold their default). */
export type IncrementalAlterConfigsResponseData = {
  throttleTimeMs: number;
  responses: {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
  }[];
};
