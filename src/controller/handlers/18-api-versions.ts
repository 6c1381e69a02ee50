import type { ControllerHandler } from '../handler.ts';

/** ApiVersions on the controller listener: only the APIs that listener serves. */
export const handler: ControllerHandler = {
  apiKey: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  handle(_request, context) {
    return { errorCode: 0, apiKeys: context.node.apiVersions(), throttleTimeMs: 0 };
  },
};
