import { type AdvertisedApi, featureFields } from '../../coordinator/features.ts';
import type { ControllerHandler } from '../handler.ts';

/**
 * The broker APIs of this code (its handler registry), loaded once on the first ApiVersions v3+:
 * finalized levels are cluster-wide, so the controller listener answers the levels the brokers
 * serve (group.version 1 needs ConsumerGroupHeartbeat, a broker API), as Kafka's controllers do.
 */
let brokerApis: Promise<readonly AdvertisedApi[]> | null = null;

function loadBrokerApis(): Promise<readonly AdvertisedApi[]> {
  brokerApis ??= import('../../broker/handlers/index.ts').then(async ({ loadHandlers }) =>
    (await loadHandlers()).versions(),
  );
  return brokerApis;
}

/**
 * ApiVersions on the controller listener: only the APIs that listener serves, and from v3 the
 * features (src/coordinator/features.ts), their epoch the last committed metadata offset.
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
    return { ...answer, ...featureFields(context.apiVersion, await loadBrokerApis(), committedOffset) };
  },
};
