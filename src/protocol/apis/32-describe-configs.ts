import { array, field, request, response, struct } from '../schema.ts';

// DescribeConfigs (API key 32), written from Kafka's DescribeConfigsRequest/DescribeConfigsResponse message definitions.

export const DescribeConfigsRequest = request(32, 'DescribeConfigsRequest', '0-4', '4+', [
  field(
    'resources',
    array(
      struct('DescribeConfigsResource', [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field('configurationKeys', array('string'), '0+', { nullable: '0+' }),
      ]),
    ),
    '0+',
  ),
  field('includeSynonyms', 'bool', '1+', { default: false }),
  field('includeDocumentation', 'bool', '3+', { default: false }),
]);

export const DescribeConfigsResponse = response(32, 'DescribeConfigsResponse', '0-4', '4+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'results',
    array(
      struct('DescribeConfigsResult', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+' }),
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field(
          'configs',
          array(
            struct('DescribeConfigsResourceResult', [
              field('name', 'string', '0+'),
              field('value', 'string', '0+', { nullable: '0+' }),
              field('readOnly', 'bool', '0+'),
              field('isDefault', 'bool', '0'),
              field('configSource', 'int8', '1+', { default: -1 }),
              field('isSensitive', 'bool', '0+'),
              field(
                'synonyms',
                array(
                  struct('DescribeConfigsSynonym', [
                    field('name', 'string', '1+'),
                    field('value', 'string', '1+', { nullable: '0+' }),
                    field('source', 'int8', '1+'),
                  ]),
                ),
                '1+',
              ),
              field('configType', 'int8', '3+', { default: 0 }),
              field('documentation', 'string', '3+', { nullable: '0+' }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DescribeConfigsRequest (every version's fields; absent ones hold their default). */
export type DescribeConfigsRequestData = {
  resources: {
    resourceType: number;
    resourceName: string;
    configurationKeys: string[] | null;
  }[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
};

/** A decoded DescribeConfigsResponse (every version's fields; absent ones hold their default). */
export type DescribeConfigsResponseData = {
  throttleTimeMs: number;
  results: {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
    configs: {
      name: string;
      value: string | null;
      readOnly: boolean;
      isDefault: boolean;
      configSource: number;
      isSensitive: boolean;
      synonyms: {
        name: string;
        value: string | null;
        source: number;
      }[];
      configType: number;
      documentation: string | null;
    }[];
  }[];
};
