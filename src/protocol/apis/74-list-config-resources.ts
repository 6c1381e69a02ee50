import { array, field, request, response, struct } from '../schema.ts';

// ListConfigResources (API key 74), written from Kafka 4.1.1's ListConfigResourcesRequest/Response (KIP-1142:
// ListClientMetricsResources renamed; version 1 adds the resource types asked for and answered).

export const ListConfigResourcesRequest = request(74, 'ListConfigResourcesRequest', '0-1', '0+', [
  field('resourceTypes', array('int8'), '1+'),
]);

export const ListConfigResourcesResponse = response(74, 'ListConfigResourcesResponse', '0-1', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field(
    'configResources',
    array(
      struct('ConfigResource', [
        field('resourceName', 'string', '0+'),
        field('resourceType', 'int8', '1+', { default: 16 }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded ListConfigResourcesRequest (every version's fields; absent ones hold their default). */
export type ListConfigResourcesRequestData = {
  resourceTypes: number[];
};

/** A decoded ListConfigResourcesResponse (every version's fields; absent ones hold their default). */
export type ListConfigResourcesResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  configResources: { resourceName: string; resourceType: number }[];
};
