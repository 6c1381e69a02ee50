/**
 * Snapshots of a stopped broker's data, as files under its data directory:
 *
 *   <data dir>/broker-<id>/              the live data (`kstack up --data-dir` keeps the same layout)
 *   <data dir>/node-<id>/                or a cluster node's (`kstack up --brokers 3`, startKafka({ brokers: 3 }))
 *   <data dir>/snapshots/<name>/         one snapshot: snapshot.json and a copy of each of those folders
 *
 * Saving copies into a temporary folder beside the snapshots and renames it into place, and
 * restoring copies the snapshot beside the live data and swaps the two by renames: a reader
 * never sees half a snapshot, and a failed copy leaves the live data as it was. (Copies are
 * not fsynced: a snapshot is for tests, not for surviving a power cut.)
 *
 * Restoring one broker's data gives every topic a new topic id, as re-creating it would: a client
 * that cached the old id (metadata, fetch positions) sees a different topic, not the old one with
 * its records gone. The producer-id block never goes back, so a producer id handed out before the
 * restore is never handed out again after it. Cluster nodes' folders (`node-<id>`) are restored as
 * they were saved: their metadata is a Raft log the nodes must agree on, entry by entry, so topic
 * ids and the controller's producer-id counter come back as they were at the save.
 */
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { readPartitionTopicId, writePartitionTopicId } from '../broker/partition-metadata.ts';
import { uuidFromRandomBytes } from '../protocol/index.ts';
import { KafkaTestingError } from './errors.ts';

export const SNAPSHOTS_FOLDER = 'snapshots';
/** The longest snapshot name (it becomes a folder name). */
export const SNAPSHOT_NAME_LENGTH_MAX = 100;
/** The state right after start, which `reset()` restores; its leading dot keeps users' names off it. */
export const BASELINE_SNAPSHOT = '.baseline';
const SNAPSHOT_FILE = 'snapshot.json';
const SNAPSHOT_FORMAT = 1;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DATA_FOLDER_PATTERN = /^(broker|node)-(\d+)$/;

export interface SnapshotInfo {
  readonly name: string;
  readonly createdAt: string;
  readonly brokers: readonly number[];
  /** The folders saved (`broker-<id>`, `node-<id>`); snapshots written before they were listed hold `broker-<id>` ones. */
  readonly folders?: readonly string[];
}

/** Why a user's snapshot name is refused, or null. */
export function snapshotNameProblem(name: string): string | null {
  if (name.length === 0) return 'a snapshot name must not be empty';
  if (name.length > SNAPSHOT_NAME_LENGTH_MAX) {
    return `snapshot name '${name.slice(0, 20)}…' is ${name.length} characters; at most ${SNAPSHOT_NAME_LENGTH_MAX} (SNAPSHOT_NAME_LENGTH_MAX)`;
  }
  if (!NAME_PATTERN.test(name) || name === '.' || name === '..') {
    return `snapshot name '${name}' must start with a letter or digit and hold only letters, digits, '.', '_' and '-'`;
  }
  return null;
}

function checkName(name: string, internal: boolean): void {
  if (internal && name === BASELINE_SNAPSHOT) return;
  const problem = snapshotNameProblem(name);
  if (problem !== null) throw new KafkaTestingError('SNAPSHOT_NAME_INVALID', problem);
}

/** The node ids of a data directory's broker (`broker-<id>`) or cluster node (`node-<id>`) folders. */
export function brokerFolders(dir: string): number[] {
  return [...new Set(dataFolders(dir).map((folder) => Number(DATA_FOLDER_PATTERN.exec(folder)?.[2])))].sort(
    (a, b) => a - b,
  );
}

/** The `broker-<id>` and `node-<id>` folders of a data directory, by name. */
export function dataFolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((entry) => DATA_FOLDER_PATTERN.test(entry))
    .sort();
}

function temporaryName(prefix: string): string {
  return `.${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Copies every broker or node folder of `dataDir` into snapshot `name`, replacing one of that name. */
export function saveSnapshot(
  dataDir: string,
  name: string,
  options: { internal?: boolean } = {},
): SnapshotInfo {
  checkName(name, options.internal === true);
  const folders = dataFolders(dataDir);
  if (folders.length === 0) {
    throw new KafkaTestingError(
      'DATA_DIR_INVALID',
      `${dataDir} holds no broker data (no broker-<id> or node-<id> folder): give the --data-dir a broker ran with`,
    );
  }
  const snapshots = join(dataDir, SNAPSHOTS_FOLDER);
  mkdirSync(snapshots, { recursive: true });
  const staging = join(snapshots, temporaryName('saving'));
  try {
    mkdirSync(staging);
    for (const folder of folders) {
      cpSync(join(dataDir, folder), join(staging, folder), { recursive: true });
    }
    const info: SnapshotInfo = {
      name,
      createdAt: new Date().toISOString(),
      brokers: brokerFolders(dataDir),
      folders,
    };
    writeFileSync(join(staging, SNAPSHOT_FILE), `${JSON.stringify({ format: SNAPSHOT_FORMAT, ...info })}\n`);
    const target = join(snapshots, name);
    if (existsSync(target)) {
      const old = join(snapshots, temporaryName('replaced'));
      renameSync(target, old);
      renameSync(staging, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(staging, target);
    }
    return info;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export function readSnapshotInfo(dataDir: string, name: string): SnapshotInfo {
  const path = join(dataDir, SNAPSHOTS_FOLDER, name, SNAPSHOT_FILE);
  if (!existsSync(path)) {
    const known = listSnapshots(dataDir).map((s) => s.name);
    throw new KafkaTestingError(
      'SNAPSHOT_NOT_FOUND',
      `no snapshot '${name}' in ${dataDir} (${known.length === 0 ? 'none saved' : `saved: ${known.join(', ')}`})`,
    );
  }
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as SnapshotInfo & { format: number };
  return {
    name: parsed.name,
    createdAt: parsed.createdAt,
    brokers: parsed.brokers,
    folders: parsed.folders ?? parsed.brokers.map((id) => `broker-${id}`),
  };
}

/** The user's snapshots of a data directory, by name. */
export function listSnapshots(dataDir: string): SnapshotInfo[] {
  const snapshots = join(dataDir, SNAPSHOTS_FOLDER);
  if (!existsSync(snapshots)) return [];
  return readdirSync(snapshots)
    .filter((entry) => !entry.startsWith('.') && existsSync(join(snapshots, entry, SNAPSHOT_FILE)))
    .sort()
    .map((entry) => readSnapshotInfo(dataDir, entry));
}

/** Replaces the broker or node folders of a stopped `dataDir` with snapshot `name`. */
export function restoreSnapshot(
  dataDir: string,
  name: string,
  options: { internal?: boolean } = {},
): SnapshotInfo {
  checkName(name, options.internal === true);
  const info = readSnapshotInfo(dataDir, name);
  const source = join(dataDir, SNAPSHOTS_FOLDER, name);
  const staging = join(dataDir, temporaryName('restoring'));
  const replaced = join(dataDir, temporaryName('replaced'));
  try {
    mkdirSync(staging);
    const topicIds = new Map<string, string>();
    const folders = info.folders ?? [];
    for (const folder of folders) {
      cpSync(join(source, folder), join(staging, folder), { recursive: true });
      // A node's metadata is its copy of the quorum's log: left as saved (see the header).
      if (!folder.startsWith('broker-')) continue;
      renewTopicIds(join(staging, folder), topicIds);
      keepProducerIdsAhead(join(dataDir, folder), join(staging, folder));
    }
    mkdirSync(replaced);
    for (const folder of dataFolders(dataDir)) renameSync(join(dataDir, folder), join(replaced, folder));
    for (const folder of folders) renameSync(join(staging, folder), join(dataDir, folder));
    return info;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(replaced, { recursive: true, force: true });
  }
}

const METADATA_RECORDS = join('__cluster_metadata', 'records.jsonl');

/**
 * Gives each topic of the metadata log a new id (one map for all brokers, so they agree), and each
 * partition folder's `partition.metadata` the same new id (the broker removes a folder recording
 * another topic id as a stray of a deleted topic).
 */
function renewTopicIds(brokerDir: string, ids: Map<string, string>): void {
  const path = join(brokerDir, METADATA_RECORDS);
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n');
  const renewed = lines.map((line) => {
    if (line.length === 0) return line;
    const record = JSON.parse(line) as { topicId?: unknown };
    if (typeof record.topicId !== 'string') return line;
    let id = ids.get(record.topicId);
    if (id === undefined) {
      id = uuidFromRandomBytes(randomBytes(16));
      ids.set(record.topicId, id);
    }
    return JSON.stringify({ ...record, topicId: id });
  });
  writeFileSync(path, renewed.join('\n'));
  for (const entry of readdirSync(brokerDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const partitionDir = join(brokerDir, entry.name);
    const recorded = readPartitionTopicId(partitionDir);
    const renewedId = recorded === undefined ? undefined : ids.get(recorded);
    if (renewedId !== undefined) writePartitionTopicId(partitionDir, renewedId);
  }
}

const PRODUCER_ID_BLOCK = join('coordinator', 'producer-id-block');

function readBlock(path: string): bigint {
  if (!existsSync(path)) return 0n;
  const text = readFileSync(path, 'utf8').trim();
  return /^\d+$/.test(text) ? BigInt(text) : 0n;
}

/** The restored data keeps the live data's next producer-id block when that one is further on. */
function keepProducerIdsAhead(liveDir: string, restoredDir: string): void {
  const live = readBlock(join(liveDir, PRODUCER_ID_BLOCK));
  const restored = readBlock(join(restoredDir, PRODUCER_ID_BLOCK));
  if (live <= restored) return;
  mkdirSync(join(restoredDir, 'coordinator'), { recursive: true });
  writeFileSync(join(restoredDir, PRODUCER_ID_BLOCK), `${live}\n`);
}
