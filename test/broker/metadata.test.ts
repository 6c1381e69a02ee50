import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigResourceType, MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import { MetadataLog } from '../../src/broker/metadata-log.ts';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

const records: MetadataRecord[] = [
  { type: 'RegisterBrokerRecord', brokerId: 1, host: '127.0.0.1', port: 9092, rack: null },
  { type: 'TopicRecord', name: 'orders', topicId: TOPIC_ID },
  {
    type: 'PartitionRecord',
    topicId: TOPIC_ID,
    partitionId: 0,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  },
  {
    type: 'PartitionRecord',
    topicId: TOPIC_ID,
    partitionId: 1,
    replicas: [1],
    isr: [1],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  },
  {
    type: 'ConfigRecord',
    resourceType: ConfigResourceType.topic,
    resourceName: 'orders',
    name: 'retention.ms',
    value: '1000',
  },
];

describe('metadata image', () => {
  it('is rebuilt from records, leaving earlier images unchanged', () => {
    const empty = MetadataImage.empty('cluster', 1);
    const image = empty.apply(records, 4n);
    assert.equal(empty.topic('orders'), undefined);
    const topic = image.topic('orders')!;
    assert.equal(topic.topicId, TOPIC_ID);
    assert.equal(topic.partitions.length, 2);
    assert.equal(topic.configs.get('retention.ms'), '1000');
    assert.equal(image.topicById(TOPIC_ID)?.name, 'orders');
    assert.equal(image.brokers().length, 1);
    assert.equal(image.metadataOffset, 4n);
  });

  it('bumps the leader epoch on a leader change and removes topics', () => {
    const image = MetadataImage.empty('c', 1).apply(records, 4n);
    const changed = image.apply(
      [{ type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 1, leader: 1 }],
      5n,
    );
    assert.equal(changed.topic('orders')!.partitions[1]!.leaderEpoch, 1);
    assert.equal(changed.topic('orders')!.partitions[1]!.partitionEpoch, 1);
    assert.equal(changed.topic('orders')!.partitions[0]!.leaderEpoch, 0);
    const removed = changed.apply([{ type: 'RemoveTopicRecord', topicId: TOPIC_ID }], 6n);
    assert.equal(removed.topic('orders'), undefined);
    assert.equal(removed.topicById(TOPIC_ID), undefined);
  });

  it('persists records and drops a torn last line at load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstack-metadata-'));
    try {
      const first = MetadataLog.open(dir);
      assert.equal(first.records.length, 0);
      first.log.append(records);
      first.log.close();
      appendFileSync(join(dir, '__cluster_metadata', 'records.jsonl'), '{"type":"TopicRec');
      const second = MetadataLog.open(dir);
      assert.deepEqual(second.records, records);
      second.log.append([{ type: 'RemoveTopicRecord', topicId: TOPIC_ID }]);
      second.log.close();
      const third = MetadataLog.open(dir);
      assert.equal(third.records.length, records.length + 1);
      third.log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
