/** `kstack schema-registry`: its arguments, exit 2 on bad usage, exit 1 naming the cause when no cluster answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRegistryArgs } from '../../src/registry/command.ts';
import { runTool } from '../engine/run-tool.ts';

/** Nothing listens here: the cluster the registry cannot reach. */
const NO_CLUSTER_PORT = 20299;

describe('kstack schema-registry', { timeout: 120_000 }, () => {
  it('parses its arguments', () => {
    const defaults = {
      groupId: undefined,
      leaderEligible: undefined,
      hostName: undefined,
      leaderWaitMs: undefined,
      leaderElection: true,
      fencedWrites: true,
    };
    assert.deepEqual(parseRegistryArgs(['--bootstrap-server', 'h:1']), {
      bootstrap: 'h:1',
      port: 8081,
      host: '127.0.0.1',
      topic: undefined,
      ...defaults,
    });
    assert.deepEqual(parseRegistryArgs(['--bootstrap-server', 'h:1', '--port', '9000', '--topic', '_s2']), {
      bootstrap: 'h:1',
      port: 9000,
      host: '127.0.0.1',
      topic: '_s2',
      ...defaults,
    });
    assert.deepEqual(
      parseRegistryArgs([
        '--bootstrap-server',
        'h:1',
        '--group-id',
        'sr-2',
        '--leader-eligibility',
        'false',
        '--host-name',
        'registry-2.local',
        '--leader-wait-ms',
        '5000',
        '--leader-election',
        'false',
      ]),
      {
        bootstrap: 'h:1',
        port: 8081,
        host: '127.0.0.1',
        topic: undefined,
        groupId: 'sr-2',
        leaderEligible: false,
        hostName: 'registry-2.local',
        leaderWaitMs: 5000,
        leaderElection: false,
        fencedWrites: false,
      },
    );
    assert.equal(
      (
        parseRegistryArgs(['--bootstrap-server', 'h:1', '--fenced-writes', 'false']) as {
          fencedWrites: boolean;
        }
      ).fencedWrites,
      false,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--fenced-writes', 'yes']),
      /--fenced-writes: 'yes' is not true or false/,
    );
    assert.throws(
      () =>
        parseRegistryArgs([
          '--bootstrap-server',
          'h:1',
          '--fenced-writes',
          'true',
          '--leader-election',
          'false',
        ]),
      /--fenced-writes true needs leader election/,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--leader-eligibility', 'no']),
      /--leader-eligibility: 'no' is not true or false/,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--leader-wait-ms', '1.5']),
      /--leader-wait-ms: '1.5' is not a whole number/,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--leader-election', 'maybe']),
      /--leader-election: 'maybe' is not true or false/,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--group-id', ' ']),
      /--group-id: a group id cannot be empty/,
    );
    assert.throws(() => parseRegistryArgs([]), /--bootstrap-server HOST:PORT is required/);
    assert.throws(() => parseRegistryArgs(['--bootstrap-server', 'nohostport']), /is not HOST:PORT/);
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--port', '70000']),
      /not a port number/,
    );
    assert.throws(
      () => parseRegistryArgs(['--bootstrap-server', 'h:1', '--topic', 'a b']),
      /not a legal Kafka topic name/,
    );
  });

  it('exits 2 on bad usage', async () => {
    const result = await runTool(process.execPath, ['bin/kstack.ts', 'schema-registry', '--bogus']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown option '--bogus'/);
  });

  it('exits 1, naming the cluster and the cause, when no broker answers', async () => {
    const result = await runTool(process.execPath, [
      'bin/kstack.ts',
      'schema-registry',
      '--bootstrap-server',
      `127.0.0.1:${NO_CLUSTER_PORT}`,
      '--port',
      '0',
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`cannot start against 127.0.0.1:${NO_CLUSTER_PORT}: .*_schemas.*ECONNREFUSED`),
    );
  });
});
