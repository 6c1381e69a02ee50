import type { ApiVersionsRequestData, ApiVersionsResponseData, Input } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

/** ApiVersions: the ranges every registered handler declares (an unknown version is answered by the dispatcher). */
export const handler = defineHandler<ApiVersionsRequestData, Input<ApiVersionsResponseData>>({
  apiKey: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  handle(_request, context) {
    return { errorCode: 0, apiKeys: [...context.broker.apiVersions()], throttleTimeMs: 0 };
  },
});
