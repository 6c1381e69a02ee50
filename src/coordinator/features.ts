/**
 * Kafka's feature flags (KIP-584) as kstack serves them: the SupportedFeatures, FinalizedFeatures
 * and FinalizedFeaturesEpoch of an ApiVersions answer, what `kafka-features describe` prints and
 * what Kafka 4 clients read to pick a protocol (the Java client uses transaction version 2 only
 * when `transaction.version` is finalized at 2; group.version 1 names the KIP-848 protocol).
 *
 * The rule is "advertise only what is served": a feature is finalized at a level only when kstack
 * implements that level's behaviour and every API the level brings is in the ApiVersions list the
 * handler registry builds, so dropping a handler lowers the level by itself. kstack cannot move a
 * level at run time (UpdateFeatures, API 57, is not served), so the supported range ends at the
 * finalized level: offering more would invite a `kafka-features upgrade` that is then refused.
 *
 * On a cluster the active controller writes a FeatureLevelRecord for each level above 0 with the
 * first broker registration whose image lacks it (Kafka writes them when storage is formatted), so
 * every broker answers the levels of the metadata log, each capped at what its own code serves.
 * One node writes none: its levels come from its code.
 */
import type { MetadataRecord } from '../broker/metadata-image.ts';

/** One API at a version, as an ApiVersions row names it. */
export interface ApiAtVersion {
  readonly apiKey: number;
  readonly version: number;
}

/** An advertised API version range (an ApiVersions `apiKeys` row). */
export interface AdvertisedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface FeatureDefinition {
  readonly name: string;
  /** Kafka's lowest level of the feature (metadata.version starts at 7, 3.3-IV3, under KRaft). */
  readonly minLevel: number;
  /** The highest level whose non-API behaviour kstack implements (records, quorum, assignment). */
  readonly implementedLevel: number;
  /** The APIs (at a version) a level brings, by level: all must be advertised to finalize it. */
  readonly apisByLevel: ReadonlyMap<number, readonly ApiAtVersion[]>;
  /** Why the level is what it is: for the README and the test failure messages. */
  readonly note: string;
}

/** Apache Kafka 4.1's metadata.version 4.1-IV1 (the reference's release). */
export const METADATA_VERSION_4_1_IV1 = 27;
/** metadata.version 3.3-IV3: the lowest level KRaft brokers support. */
export const METADATA_VERSION_MIN = 7;

/** The features Kafka 4.1.1 brokers list, with what kstack implements of each. */
export const FEATURES: readonly FeatureDefinition[] = [
  {
    name: 'metadata.version',
    minLevel: METADATA_VERSION_MIN,
    implementedLevel: METADATA_VERSION_4_1_IV1,
    apisByLevel: new Map(),
    note:
      "kstack's metadata log is its own (JSON records), so no record format hangs on this level; it names the " +
      'Kafka 4.1 API surface the brokers follow, and the other levels finalized here depend on it ' +
      '(group.version 1 needs 4.0-IV0, as in Kafka)',
  },
  {
    name: 'kraft.version',
    minLevel: 0,
    implementedLevel: 0,
    apisByLevel: new Map([
      [
        1,
        [
          { apiKey: 80, version: 0 },
          { apiKey: 81, version: 0 },
        ],
      ],
    ]),
    note: 'the quorum is static (controller.quorum.voters); KIP-853 voter changes (AddRaftVoter 80, RemoveRaftVoter 81) are not served',
  },
  {
    name: 'group.version',
    minLevel: 0,
    implementedLevel: 1,
    apisByLevel: new Map([
      [
        1,
        [
          { apiKey: 68, version: 0 },
          { apiKey: 69, version: 0 },
        ],
      ],
    ]),
    note: 'level 1 is the KIP-848 consumer group protocol (ConsumerGroupHeartbeat 68, ConsumerGroupDescribe 69)',
  },
  {
    name: 'transaction.version',
    minLevel: 0,
    implementedLevel: 2,
    apisByLevel: new Map([
      // Level 1 changes only the __transaction_state value version written (v1, flexible, with the
      // client's transaction version); it brings no API.
      [
        2,
        [
          { apiKey: 0, version: 12 },
          { apiKey: 24, version: 5 },
          { apiKey: 26, version: 5 },
          // A TV2 client sends no AddOffsetsToTxn: TxnOffsetCommit v5 adds the offsets partition.
          { apiKey: 28, version: 5 },
        ],
      ],
    ]),
    note:
      'level 1: kstack writes TransactionLogValue v1; level 2 (KIP-890 part 2): the epoch bumped at every ' +
      'EndTxn v5, partitions added by their leader (Produce v12, AddPartitionsToTxn v5) and by the group ' +
      'coordinator (TxnOffsetCommit v5)',
  },
  {
    name: 'eligible.leader.replicas.version',
    minLevel: 0,
    implementedLevel: 1,
    apisByLevel: new Map([[1, [{ apiKey: 75, version: 0 }]]]),
    note:
      'level 1: the controller keeps eligible leader replicas (KIP-966, src/controller/eligible-leaders.ts) and ' +
      'DescribeTopicPartitions (75), where kafka-topics reads them, is served',
  },
  {
    name: 'share.version',
    minLevel: 0,
    implementedLevel: 0,
    apisByLevel: new Map([
      [
        1,
        [
          { apiKey: 76, version: 0 },
          { apiKey: 77, version: 0 },
          { apiKey: 78, version: 0 },
          { apiKey: 79, version: 0 },
        ],
      ],
    ]),
    note: 'share groups (KIP-932, ShareGroupHeartbeat 76 to ShareAcknowledge 79) are not served',
  },
];

/** The APIs of `feature`'s levels 1..level that `advertised` lacks (empty: the level is served). */
export function missingApis(
  feature: FeatureDefinition,
  level: number,
  advertised: readonly AdvertisedApi[],
): ApiAtVersion[] {
  const missing: ApiAtVersion[] = [];
  for (const [atLevel, apis] of feature.apisByLevel) {
    if (atLevel > level) continue;
    for (const api of apis) {
      const row = advertised.find((candidate) => candidate.apiKey === api.apiKey);
      if (row === undefined || row.minVersion > api.version || row.maxVersion < api.version)
        missing.push(api);
    }
  }
  return missing;
}

/**
 * The level kstack runs `feature` at: its implemented level, lowered to the highest one whose APIs
 * are all advertised (never below its minimum).
 */
export function finalizedLevel(feature: FeatureDefinition, advertised: readonly AdvertisedApi[]): number {
  let level = feature.implementedLevel;
  while (level > feature.minLevel && missingApis(feature, level, advertised).length > 0) level--;
  return level;
}

/** The APIs this code's broker handler registry advertises, loaded once (for the controller side). */
let codeApis: Promise<readonly AdvertisedApi[]> | null = null;

export function codeApiVersions(): Promise<readonly AdvertisedApi[]> {
  codeApis ??= import('../broker/handlers/index.ts').then(async ({ loadHandlers }) =>
    (await loadHandlers()).versions(),
  );
  return codeApis;
}

/** FeatureLevelRecords for the levels above 0 that `finalized` (the image's) does not hold yet. */
export function featureLevelRecords(
  advertised: readonly AdvertisedApi[],
  finalized: ReadonlyMap<string, number> | undefined,
): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const feature of FEATURES) {
    const level = finalizedLevel(feature, advertised);
    if (level > 0 && finalized?.has(feature.name) !== true)
      records.push({ type: 'FeatureLevelRecord', name: feature.name, featureLevel: level });
  }
  return records;
}

/** The feature fields of an ApiVersions answer (v3+; earlier versions have none). */
export interface FeatureFields {
  supportedFeatures: { name: string; minVersion: number; maxVersion: number }[];
  finalizedFeaturesEpoch: bigint;
  finalizedFeatures: { name: string; maxVersionLevel: number; minVersionLevel: number }[];
}

/**
 * What an ApiVersions answer of `apiVersion` says about features, as Kafka 4.1 brokers answer:
 * v3 leaves out features whose supported minimum is 0 (older clients refused a 0 minimum,
 * KAFKA-17011), v4 lists them all; a feature at level 0 is not finalized (Kafka writes no record
 * for it). The epoch is the metadata offset of the image the answer comes from, as in KRaft (at
 * least 0: a client ignores finalized features under a negative epoch, and a fresh one-node log
 * has no record yet).
 */
export function featureFields(
  apiVersion: number,
  advertised: readonly AdvertisedApi[],
  metadataOffset: bigint,
  imageLevels?: ReadonlyMap<string, number>,
): FeatureFields {
  // Levels from the metadata log when it holds any (a cluster), never above what this code serves.
  const fromImage = imageLevels !== undefined && imageLevels.size > 0;
  const supportedFeatures: FeatureFields['supportedFeatures'] = [];
  const finalizedFeatures: FeatureFields['finalizedFeatures'] = [];
  for (const feature of FEATURES) {
    const served = finalizedLevel(feature, advertised);
    const level = fromImage ? Math.min(imageLevels.get(feature.name) ?? 0, served) : served;
    if (apiVersion >= 4 || feature.minLevel > 0) {
      supportedFeatures.push({ name: feature.name, minVersion: feature.minLevel, maxVersion: served });
    }
    if (level > 0)
      finalizedFeatures.push({ name: feature.name, maxVersionLevel: level, minVersionLevel: level });
  }
  return {
    supportedFeatures,
    finalizedFeaturesEpoch: metadataOffset < 0n ? 0n : metadataOffset,
    finalizedFeatures,
  };
}
