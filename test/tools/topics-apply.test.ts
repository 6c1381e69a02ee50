/**
 * `kstack topics apply`, run as a process, with the same assertions against `kstack up` and the
 * Apache Kafka reference with 1 and 3 nodes (ports in docs/team-rules.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { parseTopicsArgs } from '../../src/tools/topics-command.ts';
import { runTool } from '../engine/run-tool.ts';
import { type ClusterTarget, kstackTarget, referenceTarget } from '../topology/cluster-targets.ts';

const KSTACK_PORT = 20100;
const REFERENCE_1_PORT = 20101;
const REFERENCE_3_BASE_PORT = 20102;
const UNREACHABLE_PORT = 20199;
const RESOURCE_TOPIC = 2;
const TOOL_TIMEOUT_MS = 120_000;

const dir = mkdtempSync(join(tmpdir(), 'kstack-topics-apply-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function topicsFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function apply(file: string, bootstrap: string, ...flags: string[]) {
  return runTool(
    process.execPath,
    ['bin/kstack.ts', 'topics', 'apply', file, '--bootstrap-server', bootstrap, ...flags],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
}

describe('kstack topics apply: usage and files', { timeout: 60_000 }, () => {
  it('parses its arguments', () => {
    assert.deepEqual(parseTopicsArgs(['apply', 'f.txt', '--bootstrap-server', 'h:1', '--dry-run']), {
      file: 'f.txt',
      bootstrap: ['h:1'],
      dryRun: true,
      delete: false,
      timeoutMs: 30_000,
    });
    assert.throws(() => parseTopicsArgs(['apply', 'f.txt']), /--bootstrap-server HOST:PORT is required/);
    assert.throws(() => parseTopicsArgs(['remove', 'f.txt']), /unknown subcommand 'remove'/);
    assert.throws(() => parseTopicsArgs(['apply', '--bootstrap-server', 'h:1']), /FILE is required/);
    assert.throws(() => parseTopicsArgs(['apply', 'f', '--bootstrap-server', 'h:0']), /not HOST:PORT/);
  });

  it('exits 2 naming the file and line of each bad line, before touching any cluster', async () => {
    const file = topicsFile(
      'bad.txt',
      '# comment\nok-topic 1 1\nbad topic! x 1\ndup 1 1\ndup 2 1\nnoconfig 1 1 retention.ms\n',
    );
    const result = await apply(file, `127.0.0.1:${UNREACHABLE_PORT}`);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`${file}:3: 'bad' is not a valid topic name|${file}:3: partitions`),
    );
    assert.match(result.stderr, new RegExp(`${file}:5: topic 'dup' is already listed on line 4`));
    assert.match(result.stderr, new RegExp(`${file}:6: 'retention.ms' must be CONFIG=VALUE`));
  });

  it('exits 1 when the cluster cannot be reached', async () => {
    const file = topicsFile('one.txt', 'one 1 1\n');
    const result = await apply(file, `127.0.0.1:${UNREACHABLE_PORT}`, '--timeout-ms', '2000');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot read the topics of 127\\.0\\.0\\.1:${UNREACHABLE_PORT}`));
  });
});

async function topicState(admin: Admin, name: string) {
  const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
  const topic = metadata.topics.get(name);
  assert.ok(topic, `${name} exists`);
  const [described] = await admin.describeConfigs({
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name }],
  });
  const configs = new Map(described!.configs.map((entry) => [entry.name, entry.value]));
  return {
    partitions: topic.partitionsCount,
    replicationFactor: topic.partitions[0]!.replicas.length,
    configs,
  };
}

function sameAssertions(makeTarget: () => ClusterTarget): void {
  const target = makeTarget();
  describe(`kstack topics apply against ${target.title}`, { timeout: 900_000 }, () => {
    let admin: Admin;
    before(async () => {
      await target.start();
      admin = new Admin({
        clientId: 'topics-apply-test',
        bootstrapBrokers: target.bootstrap.split(','),
        timeout: 30_000,
      });
    });
    after(async () => {
      await admin?.close();
      await target.stop();
    });
    const wantedFactor = Math.min(3, target.brokerCount);
    const wantedIsr = String(Math.max(1, 2 - (3 - wantedFactor)));

    it('plans without changing, creates, is idempotent, adds partitions, sets configs, refuses fewer partitions, deletes only when told', async () => {
      const first = topicsFile(
        `first-${target.brokerCount}.txt`,
        'apply-a 2 3 min.insync.replicas=2 retention.ms=3600000\napply-b 1 1 cleanup.policy=compact\n',
      );
      const dry = await apply(first, target.bootstrap, '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /dry run: nothing changed/);
      assert.match(
        dry.stdout,
        new RegExp(
          `create apply-a partitions=2 replication-factor=${wantedFactor} min\\.insync\\.replicas=${wantedIsr} retention\\.ms=3600000`,
        ),
      );
      if (wantedFactor < 3)
        assert.match(
          dry.stdout,
          /lowered to fit the cluster: replication factor 3 -> 1, min\.insync\.replicas 2 -> 1/,
        );
      assert.ok(!(await admin.listTopics()).includes('apply-a'), 'a dry run creates nothing');

      const created = await apply(first, target.bootstrap);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /matches .*: 2 changes/);
      const a = await topicState(admin, 'apply-a');
      assert.equal(a.partitions, 2);
      assert.equal(a.replicationFactor, wantedFactor);
      assert.equal(a.configs.get('retention.ms'), '3600000');
      assert.equal(a.configs.get('min.insync.replicas'), wantedIsr);
      assert.equal((await topicState(admin, 'apply-b')).configs.get('cleanup.policy'), 'compact');

      const again = await apply(first, target.bootstrap);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /unchanged: apply-a, apply-b/);
      assert.match(again.stdout, /: 0 changes/);

      const grown = topicsFile(
        `grown-${target.brokerCount}.txt`,
        'apply-a 4 3 min.insync.replicas=2 retention.ms=7200000\napply-b 1 1 cleanup.policy=compact\n',
      );
      const grow = await apply(grown, target.bootstrap);
      assert.equal(grow.code, 0, grow.stderr);
      assert.match(grow.stdout, /done: add partitions apply-a 2 -> 4/);
      assert.match(grow.stdout, /done: set configs apply-a retention\.ms=7200000 \(was 3600000\)/);
      const grownState = await topicState(admin, 'apply-a');
      assert.equal(grownState.partitions, 4);
      assert.equal(grownState.configs.get('retention.ms'), '7200000');

      const fewer = topicsFile(`fewer-${target.brokerCount}.txt`, 'apply-a 3 3 retention.ms=1000\n');
      const shrink = await apply(fewer, target.bootstrap);
      assert.equal(shrink.code, 1, shrink.stderr);
      assert.match(shrink.stderr, new RegExp(`${fewer}:1: apply-a has 4 partitions and the file asks for 3`));
      assert.match(shrink.stderr, /nothing changed/);
      assert.equal((await topicState(admin, 'apply-a')).configs.get('retention.ms'), '7200000');

      const onlyA = topicsFile(
        `only-a-${target.brokerCount}.txt`,
        'apply-a 4 3 min.insync.replicas=2 retention.ms=7200000\n',
      );
      const keep = await apply(onlyA, target.bootstrap);
      assert.equal(keep.code, 0, keep.stderr);
      assert.ok((await admin.listTopics()).includes('apply-b'), 'no deletion without --delete');
      const planDelete = await apply(onlyA, target.bootstrap, '--delete', '--dry-run');
      assert.equal(planDelete.code, 0, planDelete.stderr);
      assert.match(planDelete.stdout, /delete apply-b/);
      assert.ok((await admin.listTopics()).includes('apply-b'), 'a dry run deletes nothing');
      const deleted = await apply(onlyA, target.bootstrap, '--delete');
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.match(deleted.stdout, /done: delete apply-b/);
      const deadline = Date.now() + 30_000;
      while ((await admin.listTopics()).includes('apply-b')) {
        assert.ok(Date.now() < deadline, 'apply-b still listed 30 s after its deletion');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
  });
}

sameAssertions(() => kstackTarget(KSTACK_PORT));
sameAssertions(() => referenceTarget(1, REFERENCE_1_PORT));
sameAssertions(() => referenceTarget(3, REFERENCE_3_BASE_PORT));
