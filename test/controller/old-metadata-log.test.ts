// A data directory holding the metadata log of the format before offsets per record (raft.log) is
// refused at start by `kstack node` and `kstack controller`: exit 1, one message naming the directory
// and what to do, no stack trace, and the old file left as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EXIT_FAILED } from '../../src/common/cli-errors.ts';
import { metadataLogDir } from '../../src/controller/driver.ts';
import { RAFT_LOG_FILE } from '../../src/raft/storage.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';
// Bound only if the refusal failed: `kstack node`'s broker and controller listener.
const BROKER_PORT = 27500;
const CONTROLLER_PORT = 27550;
const VOTERS = `1@127.0.0.1:${CONTROLLER_PORT}`;
const COMMAND_TIMEOUT_MS = 60_000;
/** A frame length of the old format: what matters is the file's name, never read. */
const OLD_LOG_BYTES = Buffer.from([0, 0, 0, 13]);

const root = mkdtempSync(join(tmpdir(), 'kstack-old-metadata-log-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A node data directory whose metadata log directory holds an old raft.log. */
function dataDirWithOldLog(name: string): { dataDir: string; logDir: string } {
  const dataDir = join(root, name);
  const logDir = metadataLogDir(dataDir);
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, 'raft.log'), OLD_LOG_BYTES);
  return { dataDir, logDir };
}

function kstack(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/kstack.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
  });
  return { status: result.status, stderr: result.stderr };
}

function assertRefused(result: { status: number | null; stderr: string }, logDir: string, who: RegExp): void {
  assert.equal(result.status, EXIT_FAILED, result.stderr);
  assert.match(result.stderr, who);
  assert.ok(
    result.stderr.includes(`${logDir} holds raft.log, the metadata log format before offsets per record`),
    `the message names the directory and the file: ${result.stderr}`,
  );
  assert.ok(result.stderr.includes(`delete ${logDir}`), `the message says what to do: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.deepEqual(readFileSync(join(logDir, 'raft.log')), OLD_LOG_BYTES, 'the old log is left as it was');
  assert.equal(
    existsSync(join(logDir, RAFT_LOG_FILE)),
    false,
    'no log of the new format is started beside it',
  );
}

test('kstack node on a directory holding an old raft.log exits 1 naming it and what to do', () => {
  const { dataDir, logDir } = dataDirWithOldLog('node');
  const result = kstack([
    'node',
    '--node-id',
    '1',
    '--voters',
    VOTERS,
    '--cluster-id',
    CLUSTER_ID,
    '--host',
    '127.0.0.1',
    '--port',
    String(BROKER_PORT),
    '--data-dir',
    dataDir,
  ]);
  assertRefused(result, logDir, /kstack node 1: /);
});

test('kstack controller on a directory holding an old raft.log exits 1 naming it and what to do', () => {
  const { dataDir, logDir } = dataDirWithOldLog('controller');
  const result = kstack([
    'controller',
    '--node-id',
    '1',
    '--voters',
    VOTERS,
    '--cluster-id',
    CLUSTER_ID,
    '--data-dir',
    dataDir,
  ]);
  assertRefused(result, logDir, /kstack controller 1: /);
});
