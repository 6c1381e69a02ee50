/**
 * Kafka's own `kafka-metadata-quorum` (the reference jars' MetadataQuorumCommand, a real JVM
 * client) against kstack's brokers: DescribeQuorum (55) sent to a broker listener is answered by
 * the active controller's Raft leader (src/broker/handlers/55-describe-quorum.ts). Three
 * in-process nodes (free ports, src/testing) and one node (a quorum of one). The 3-node reference
 * prints the same fields (compared by hand: docs/compatibility.md); here the tool must parse our
 * answers and show the cluster as it is.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKafka, type TestKafka, type TestKafkaCluster } from '../../src/testing/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** A JVM tool start on a loaded 2-core machine: generous. */
const TOOL_TIMEOUT_MS = 120_000;

function quorumTool(
  bootstrap: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['org.apache.kafka.tools.MetadataQuorumCommand', '--bootstrap-server', bootstrap, 'describe', ...args],
      { timeout: TOOL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `Key:   value` lines of `describe --status`. */
function statusFields(stdout: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(\w+):\s+(.*)$/.exec(line.trim());
    if (match !== null) fields.set(match[1]!, match[2]!.trim());
  }
  return fields;
}

describe('kafka-metadata-quorum against three kstack brokers', { timeout: 300_000 }, () => {
  let cluster: TestKafkaCluster;
  before(async () => {
    cluster = await startKafka({ brokers: 3 });
  });
  after(() => cluster?.stop());

  it('describe --status through each broker names the leader, its epoch and three voters', async () => {
    const brokers = cluster.bootstrapServers.split(',');
    assert.equal(brokers.length, 3);
    // A broker that is not the active controller forwards; the active one asks its own listener.
    const answers = await Promise.all(brokers.map((address) => quorumTool(address, '--status')));
    for (const [index, result] of answers.entries()) {
      assert.equal(result.code, 0, `${brokers[index]}: ${result.stderr}`);
      const fields = statusFields(result.stdout);
      assert.match(fields.get('LeaderId') ?? '', /^[123]$/, result.stdout);
      assert.match(fields.get('LeaderEpoch') ?? '', /^[1-9]\d*$/, result.stdout);
      assert.match(fields.get('HighWatermark') ?? '', /^[1-9]\d*$/, result.stdout);
      const voters = [...(fields.get('CurrentVoters') ?? '').matchAll(/"id": (\d+)/g)].map((m) =>
        Number(m[1]),
      );
      assert.deepEqual(voters.sort(), [1, 2, 3], result.stdout);
      assert.equal(fields.get('CurrentObservers'), '[]', result.stdout);
    }
    // One quorum: every broker names the same leader.
    assert.equal(new Set(answers.map((a) => statusFields(a.stdout).get('LeaderId'))).size, 1);
  });

  it('describe --replication lists one leader and two followers with their log end offsets', async () => {
    const address = cluster.bootstrapServers.split(',')[1]!;
    const result = await quorumTool(address, '--replication');
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cells) => cells.length >= 7);
    assert.deepEqual(rows.map((cells) => Number(cells[0])).sort(), [1, 2, 3], result.stdout);
    assert.deepEqual(rows.map((cells) => cells[6]).sort(), ['Follower', 'Follower', 'Leader'], result.stdout);
    for (const cells of rows) assert.match(cells[2]!, /^\d+$/, result.stdout);
  });
});

describe('kafka-metadata-quorum against one kstack broker', { timeout: 300_000 }, () => {
  let kafka: TestKafka;
  before(async () => {
    kafka = await startKafka();
  });
  after(() => kafka?.stop());

  it('describe --status shows a quorum of one led by the broker', async () => {
    const result = await quorumTool(kafka.bootstrapServers, '--status');
    assert.equal(result.code, 0, result.stderr);
    const fields = statusFields(result.stdout);
    assert.equal(fields.get('LeaderId'), '1', result.stdout);
    assert.equal(fields.get('MaxFollowerLag'), '0', result.stdout);
    assert.match(fields.get('CurrentVoters') ?? '', /^\[\{"id": 1\b/, result.stdout);
  });
});
