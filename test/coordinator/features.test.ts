/**
 * The feature fields of ApiVersions (src/coordinator/features.ts) without a broker: a level is
 * finalized only when every API it brings is advertised, v3 leaves out features whose minimum is 0
 * and v4 lists them (what Apache Kafka 4.1.1 answers, checked on the wire against the reference by
 * features-reference.long.ts), a level-0 feature is not finalized, and the epoch is never negative.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadHandlers } from '../../src/broker/handlers/index.ts';
import { MetadataImage } from '../../src/broker/metadata-image.ts';
import {
  type AdvertisedApi,
  FEATURES,
  type FeatureDefinition,
  featureFields,
  featureLevelRecords,
  finalizedLevel,
  missingApis,
} from '../../src/coordinator/features.ts';

function feature(name: string): FeatureDefinition {
  const found = FEATURES.find((candidate) => candidate.name === name);
  assert.ok(found, `feature ${name}`);
  return found;
}

/** Every API at versions 0..max as the registry of this tree advertises it. */
async function advertisedByBroker(): Promise<AdvertisedApi[]> {
  return (await loadHandlers()).versions().map((row) => ({ ...row }));
}

describe('ApiVersions features', () => {
  it('finalizes group.version 1 only while ConsumerGroupHeartbeat and ConsumerGroupDescribe are advertised', async () => {
    const advertised = await advertisedByBroker();
    const group = feature('group.version');
    assert.equal(finalizedLevel(group, advertised), 1);
    const without68 = advertised.filter((row) => row.apiKey !== 68);
    assert.equal(finalizedLevel(group, without68), 0);
    assert.deepEqual(missingApis(group, 1, without68), [{ apiKey: 68, version: 0 }]);
  });

  it('finalizes transaction.version 2 only while Produce v12, AddPartitionsToTxn v5, EndTxn v5 and TxnOffsetCommit v5 are served', async () => {
    const advertised = await advertisedByBroker();
    const transactions = feature('transaction.version');
    assert.equal(transactions.implementedLevel, 2);
    const served = (apiKey: number, version: number) =>
      advertised.some((row) => row.apiKey === apiKey && row.maxVersion >= version);
    assert.ok(served(24, 5) && served(26, 5), 'AddPartitionsToTxn v5 and EndTxn v5 are served');
    // Produce v12 and TxnOffsetCommit v5 are advertised as far as the protocol module decodes them.
    const level = served(0, 12) && served(28, 5) ? 2 : 1;
    assert.equal(finalizedLevel(transactions, advertised), level);
    const upgraded = advertised.map((row) =>
      [0, 24, 26, 28].includes(row.apiKey) ? { ...row, maxVersion: Math.max(row.maxVersion, 12) } : row,
    );
    assert.deepEqual(missingApis(transactions, 2, upgraded), []);
    assert.equal(finalizedLevel(transactions, upgraded), 2);
    // Level 1 (TransactionLogValue v1) brings no API: without the level-2 ones, 1.
    const without = upgraded.filter((row) => row.apiKey !== 26);
    assert.equal(finalizedLevel(transactions, without), 1);
    assert.deepEqual(missingApis(transactions, 2, without), [{ apiKey: 26, version: 5 }]);
  });

  it('answers every finalized level with the APIs it brings advertised by this tree', async () => {
    const advertised = await advertisedByBroker();
    const fields = featureFields(4, advertised, 12n);
    assert.ok(fields.finalizedFeatures.length > 0);
    for (const finalized of fields.finalizedFeatures) {
      const definition = feature(finalized.name);
      assert.equal(finalized.minVersionLevel, finalized.maxVersionLevel);
      assert.deepEqual(missingApis(definition, finalized.maxVersionLevel, advertised), [], finalized.name);
    }
  });

  it('lists minimum-0 features from v4 only, leaves level-0 features unfinalized, never a negative epoch', async () => {
    const advertised = await advertisedByBroker();
    const v3 = featureFields(3, advertised, -1n);
    const v4 = featureFields(4, advertised, 7n);
    assert.deepEqual(
      v3.supportedFeatures.map((row) => row.name),
      ['metadata.version'],
    );
    assert.deepEqual(
      v4.supportedFeatures.map((row) => row.name).sort(),
      FEATURES.map((definition) => definition.name).sort(),
    );
    assert.equal(v3.finalizedFeaturesEpoch, 0n);
    assert.equal(v4.finalizedFeaturesEpoch, 7n);
    assert.deepEqual(v3.finalizedFeatures, v4.finalizedFeatures);
    for (const row of v4.supportedFeatures) {
      const finalized = v4.finalizedFeatures.find((candidate) => candidate.name === row.name);
      // kstack cannot change a level at run time (UpdateFeatures is not served): the supported range ends at the finalized level.
      assert.equal(row.maxVersion, finalized?.maxVersionLevel ?? 0, row.name);
    }
    assert.equal(
      v4.finalizedFeatures.some((row) => row.maxVersionLevel === 0),
      false,
    );
  });

  it('takes the levels of the metadata image (FeatureLevelRecords), never above what this code serves', async () => {
    const advertised = await advertisedByBroker();
    const bootstrap = featureLevelRecords(advertised, undefined);
    const transactionLevel = finalizedLevel(feature('transaction.version'), advertised);
    assert.ok(transactionLevel >= 1);
    assert.deepEqual(bootstrap, [
      { type: 'FeatureLevelRecord', name: 'metadata.version', featureLevel: 27 },
      { type: 'FeatureLevelRecord', name: 'group.version', featureLevel: 1 },
      { type: 'FeatureLevelRecord', name: 'transaction.version', featureLevel: transactionLevel },
      { type: 'FeatureLevelRecord', name: 'eligible.leader.replicas.version', featureLevel: 1 },
    ]);
    const image = MetadataImage.empty('c', 1).apply(bootstrap, 3n);
    assert.deepEqual(
      [...image.finalizedFeatures],
      [
        ['metadata.version', 27],
        ['group.version', 1],
        ['transaction.version', transactionLevel],
        ['eligible.leader.replicas.version', 1],
      ],
    );
    assert.deepEqual(featureLevelRecords(advertised, image.finalizedFeatures), [], 'written once');
    // A log finalized higher than this code serves (a newer node wrote it): capped here.
    const higher = image.apply(
      [
        { type: 'FeatureLevelRecord', name: 'kraft.version', featureLevel: 1 },
        { type: 'FeatureLevelRecord', name: 'group.version', featureLevel: 0 },
      ],
      4n,
    );
    assert.equal(higher.finalizedFeatures.has('group.version'), false, 'level 0 removes the feature');
    const fields = featureFields(4, advertised, higher.metadataOffset, higher.finalizedFeatures);
    assert.deepEqual(
      fields.finalizedFeatures.map((row) => `${row.name}=${row.maxVersionLevel}`),
      [
        'metadata.version=27',
        `transaction.version=${transactionLevel}`,
        'eligible.leader.replicas.version=1',
      ],
    );
    assert.equal(fields.supportedFeatures.find((row) => row.name === 'group.version')?.maxVersion, 1);
  });
});
