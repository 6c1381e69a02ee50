import { codeApiVersions, featureFields } from '../../coordinator/features.ts';
import type { ControllerHandler } from '../handler.ts';

/**
 * ApiVersions on the controller listener: only the APIs that listener serves, and from v3 the
 * features (src/coordinator/features.ts): finalized levels are cluster-wide, so they are those the
 * brokers of this code serve (group.version 1 needs ConsumerGroupHeartbeat, a broker API), with
 * the last committed metadata offset as epoch. The controller node has no metadata image of its
 * own here, so a cluster of mixed kstack versions could see its brokers answer lower levels.
 */
export const handler: ControllerHandler = {
  apiKey: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  async handle(_request, context) {
    const answer = { errorCode: 0, apiKeys: context.node.apiVersions(), throttleTimeMs: 0 };
    if (context.apiVersion < 3) return answer;
    const committedOffset = BigInt(context.node.driver.replica.highWatermark() - 1);
    return { ...answer, ...featureFields(context.apiVersion, await codeApiVersions(), committedOffset) };
  },
};
