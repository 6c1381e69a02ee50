/** Topics files and plans, without a cluster (the cluster runs are in test/tools/topics-apply.test.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { type ClusterState, describeAction, planTopics, readTopicsFile } from '../../src/topology/topics.ts';

function fileOf(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-topics-'));
  try {
    const path = join(dir, 'topics.txt');
    writeFileSync(path, text);
    return readTopicsFile(path, 'topics.txt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const empty: ClusterState = { brokerCount: 3, topics: new Map() };

describe('topics files', () => {
  it("reads this repository's baseline file", () => {
    const file = readTopicsFile('infra/05-messaging/kafka/init/topics.txt');
    assert.deepEqual(
      file.topics.map((topic) => [topic.name, topic.partitions, topic.replicationFactor, [...topic.configs]]),
      [['events-topic', 3, 3, [['min.insync.replicas', '2']]]],
    );
  });

  it('names the file and line of every bad line at once', () => {
    assert.throws(
      () => fileOf('a 1 1\n\n# c\nb x 1\na 2 1\n__internal 1 1\nc 1 0\n'),
      (error: unknown) =>
        error instanceof UsageError &&
        /^topics\.txt:4: partitions 'x'/m.test(error.message) &&
        /^topics\.txt:5: topic 'a' is already listed on line 1$/m.test(error.message) &&
        /^topics\.txt:6: '__internal' is an internal topic name/m.test(error.message) &&
        /^topics\.txt:7: replication factor must be at least 1$/m.test(error.message),
    );
    assert.throws(() => readTopicsFile('/nonexistent/topics.txt'), /cannot read topics file \/nonexistent/);
  });
});

describe('planTopics', () => {
  const file = fileOf('t 3 3 min.insync.replicas=2 retention.ms=1000\nu 1 1\n');

  it('creates missing topics, lowering RF and min ISR to a smaller cluster and saying so', () => {
    const plan = planTopics(
      file,
      { brokerCount: 1, topics: new Map() },
      { delete: false, createOnly: false },
    );
    assert.deepEqual(plan.errors, []);
    const create = plan.actions[0]!;
    assert.equal(
      describeAction(create, 'topics.txt'),
      'create t partitions=3 replication-factor=1 min.insync.replicas=1 retention.ms=1000 (lowered to fit the cluster: replication factor 3 -> 1, min.insync.replicas 2 -> 1) [topics.txt:1]',
    );
    const full = planTopics(file, empty, { delete: false, createOnly: false });
    assert.equal(
      describeAction(full.actions[0]!, 'topics.txt'),
      'create t partitions=3 replication-factor=3 min.insync.replicas=2 retention.ms=1000 [topics.txt:1]',
    );
  });

  it('adds partitions, sets differing configs, warns on a different RF, refuses fewer partitions', () => {
    const cluster: ClusterState = {
      brokerCount: 3,
      topics: new Map([
        [
          't',
          {
            name: 't',
            partitions: 2,
            replicationFactor: 1,
            configs: new Map([
              ['min.insync.replicas', '2'],
              ['retention.ms', '5'],
            ]),
          },
        ],
        ['u', { name: 'u', partitions: 4, replicationFactor: 1, configs: new Map() }],
        ['extra', { name: 'extra', partitions: 1, replicationFactor: 1, configs: new Map() }],
      ]),
    };
    const plan = planTopics(file, cluster, { delete: true, createOnly: false });
    assert.deepEqual(
      plan.actions.map((action) => describeAction(action, 'topics.txt')),
      [
        'add partitions t 2 -> 3 [topics.txt:1]',
        'set configs t retention.ms=1000 (was 5) [topics.txt:1]',
        'delete extra (not in topics.txt; --delete)',
      ],
    );
    assert.match(
      plan.warnings[0]!.message,
      /^topics\.txt:1: t has replication factor 1 and the file asks for 3; left as it is/,
    );
    assert.match(
      plan.errors[0]!.message,
      /^topics\.txt:2: u has 4 partitions and the file asks for 1; Kafka cannot remove partitions/,
    );
    const createOnly = planTopics(file, cluster, { delete: true, createOnly: true });
    assert.deepEqual(createOnly.actions, []);
    assert.deepEqual(createOnly.unchanged, ['t', 'u']);
    assert.deepEqual(createOnly.errors, []);
  });

  it('never plans to delete internal topics', () => {
    const cluster: ClusterState = {
      brokerCount: 1,
      topics: new Map([
        [
          '__consumer_offsets',
          { name: '__consumer_offsets', partitions: 50, replicationFactor: 1, configs: new Map() },
        ],
      ]),
    };
    const plan = planTopics(file, cluster, { delete: true, createOnly: false });
    assert.ok(plan.actions.every((action) => action.kind !== 'delete'));
  });
});
