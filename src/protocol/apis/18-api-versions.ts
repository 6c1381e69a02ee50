import { array, field, request, response, struct } from '../schema.ts';

// ApiVersions (API key 18), written from Kafka's ApiVersionsRequest/ApiVersionsResponse message definitions.

export const ApiVersionsRequest = request(18, 'ApiVersionsRequest', '0-4', '3+', [
  field('clientSoftwareName', 'string', '3+'),
  field('clientSoftwareVersion', 'string', '3+'),
]);

export const ApiVersionsResponse = response(18, 'ApiVersionsResponse', '0-4', '3+', [
  field('errorCode', 'int16', '0+'),
  field(
    'apiKeys',
    array(
      struct('ApiVersion', [
        field('apiKey', 'int16', '0+'),
        field('minVersion', 'int16', '0+'),
        field('maxVersion', 'int16', '0+'),
      ]),
    ),
    '0+',
  ),
  field('throttleTimeMs', 'int32', '1+'),
  field(
    'supportedFeatures',
    array(
      struct('SupportedFeatureKey', [
        field('name', 'string', '3+'),
        field('minVersion', 'int16', '3+'),
        field('maxVersion', 'int16', '3+'),
      ]),
    ),
    '3+',
    { tag: 0 },
  ),
  field('finalizedFeaturesEpoch', 'int64', '3+', { tag: 1, default: -1n }),
  field(
    'finalizedFeatures',
    array(
      struct('FinalizedFeatureKey', [
        field('name', 'string', '3+'),
        field('maxVersionLevel', 'int16', '3+'),
        field('minVersionLevel', 'int16', '3+'),
      ]),
    ),
    '3+',
    { tag: 2 },
  ),
  field('zkMigrationReady', 'bool', '3+', { tag: 3, default: false }),
]);

/** A decoded ApiVersionsRequest (every version's fields; absent ones hold their default). */
export type ApiVersionsRequestData = {
  clientSoftwareName: string;
  clientSoftwareVersion: string;
};

/** A decoded ApiVersionsResponse (every version's fields; absent ones hold their default). */
export type ApiVersionsResponseData = {
  errorCode: number;
  apiKeys: {
    apiKey: number;
    minVersion: number;
    maxVersion: number;
  }[];
  throttleTimeMs: number;
  supportedFeatures: {
    name: string;
    minVersion: number;
    maxVersion: number;
  }[];
  finalizedFeaturesEpoch: bigint;
  finalizedFeatures: {
    name: string;
    maxVersionLevel: number;
    minVersionLevel: number;
  }[];
  zkMigrationReady: boolean;
};
