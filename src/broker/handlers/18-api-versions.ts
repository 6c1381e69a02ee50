import { featureFields } from '../../coordinator/features.ts';
import type { ApiVersionsRequestData, ApiVersionsResponseData, Input } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

/**
 * ApiVersions: the ranges every registered handler declares (an unknown version is answered by the
 * dispatcher), and from v3 the features (src/coordinator/features.ts): levels finalized only where
 * the APIs they bring are in this list.
 */
export const handler = defineHandler<ApiVersionsRequestData, Input<ApiVersionsResponseData>>({
  apiKey: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  handle(_request, context) {
    const apiKeys = [...context.broker.apiVersions()];
    const image = context.broker.metadata();
    return {
      errorCode: 0,
      apiKeys,
      throttleTimeMs: 0,
      ...featureFields(context.apiVersion, apiKeys, image.metadataOffset, image.finalizedFeatures),
    };
  },
});
