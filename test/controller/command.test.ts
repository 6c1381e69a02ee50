// `kstack controller`'s input: every fault named, exit code 2 (usage), nothing started.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { checkMetaProperties, parseControllerArgs } from '../../src/controller/command.ts';
import { parseQuorumVoters } from '../../src/controller/node.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const VOTERS = '1@127.0.0.1:21010,2@127.0.0.1:21011,3@127.0.0.1:21012';
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';
const dir = mkdtempSync(join(tmpdir(), 'kstack-controller-command-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function usageError(args: string[], pattern: RegExp): void {
  assert.throws(
    () => parseControllerArgs(args),
    (error) => error instanceof UsageError && pattern.test(error.message),
    `${args.join(' ')} → ${pattern}`,
  );
}

test('controller.quorum.voters is parsed, and each bad entry named', () => {
  assert.deepEqual(parseQuorumVoters('1@a:9093, 2@[::1]:9094'), [
    { nodeId: 1, host: 'a', port: 9093 },
    { nodeId: 2, host: '::1', port: 9094 },
  ]);
  assert.throws(() => parseQuorumVoters('1@a:9093,b:9094'), /'b:9094' is not NODE_ID@HOST:PORT/);
  assert.throws(() => parseQuorumVoters('1@a:70000'), /'1@a:70000' is not NODE_ID@HOST:PORT/);
  assert.throws(() => parseQuorumVoters('1@a:9093,1@b:9094'), /node 1 is named twice/);
});

test('bad flags are refused with the flag and the fault named', () => {
  const base = ['--voters', VOTERS, '--cluster-id', CLUSTER_ID];
  usageError(['--node-id', 'x', ...base], /--node-id: 'x' is not a node id/);
  usageError(['--node-id', '4', ...base], /--voters: node 4 \(--node-id\) is not among the voters/);
  usageError(['--node-id', '1', '--cluster-id', CLUSTER_ID], /--voters is required/);
  usageError(
    ['--node-id', '1', '--voters', VOTERS, '--cluster-id', 'short'],
    /--cluster-id: 'short' is not a cluster id/,
  );
  usageError(['--node-id', '1', '--bogus', ...base], /Unknown option '--bogus'/);
  const parsed = parseControllerArgs(['--node-id', '2', ...base, '--data-dir', dir]);
  assert.ok(parsed !== 'help');
  assert.equal(parsed.port, 21011);
  assert.equal(parsed.host, '127.0.0.1');
});

test('a data directory keeps its cluster and node: another cluster id or node id is refused', () => {
  const data = join(dir, 'meta');
  checkMetaProperties(data, 1, CLUSTER_ID);
  assert.match(
    readFileSync(join(data, 'meta.properties'), 'utf8'),
    /cluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=1/,
  );
  checkMetaProperties(data, 1, CLUSTER_ID);
  assert.throws(
    () => checkMetaProperties(data, 1, 'AAAAAAAAAAAAAAAAAAAAAB'),
    /belongs to cluster MkU3OEVBNTcwNTJENDM2Qg node 1, not cluster AAAAAAAAAAAAAAAAAAAAAB node 1/,
  );
  assert.throws(() => checkMetaProperties(data, 2, CLUSTER_ID), /not cluster MkU3OEVBNTcwNTJENDM2Qg node 2/);
});

test('the command exits 2 with the message and starts nothing', () => {
  const result = spawnSync(
    process.execPath,
    ['bin/kstack.ts', 'controller', '--node-id', '9', '--voters', VOTERS, '--cluster-id', CLUSTER_ID],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /node 9 \(--node-id\) is not among the voters/);
});
