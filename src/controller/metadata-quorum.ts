/**
 * The metadata log as Raft entries: the active controller proposes batches of metadata records
 * (the records of src/broker/metadata-image.ts), each batch one entry applied atomically; every
 * node replays the committed entries into its own MetadataImage, starting from the snapshot at its
 * log start. A NoOp entry (an empty batch, Kafka's NoOpRecord) every `noOpIntervalMs` keeps the
 * high watermark moving and shows a leader that can still commit.
 *
 * Every node snapshots its own image (src/controller/metadata-snapshot.ts: the current image,
 * compacted) as Kafka's nodes do: after `metadata.log.max.record.bytes.between.snapshots` bytes of
 * records, or `metadata.log.max.snapshot.interval.ms` after the last snapshot if any record came
 * since (0: never by time, as Kafka reads it). The snapshot bounds the Raft log, and a node far behind catches up through FetchSnapshot.
 */
import { MetadataImage, type MetadataRecord } from '../broker/metadata-image.ts';
import { decodeMetadataRecord, encodeMetadataRecord } from '../metadata/codec.ts';
import { NotLeaderError, type RaftListener } from '../raft/replica.ts';
import { entryEndOffset, type LeaderAndEpoch, type SnapshotId } from '../raft/types.ts';
import type { RaftDriver } from './driver.ts';
import { PassedOverRecords, snapshotDelta, snapshotRecords } from './metadata-snapshot.ts';

/** Kafka's `metadata.max.idle.interval.ms` (500): how often an idle active controller writes a NoOp. */
export const NO_OP_INTERVAL_MS_DEFAULT = 500;
/** Kafka's `metadata.log.max.record.bytes.between.snapshots` default (20 MiB, as Kafka 4.1.1 reports it). */
export const SNAPSHOT_RECORD_BYTES_DEFAULT = 20_971_520;
/** Kafka's `metadata.log.max.snapshot.interval.ms` default (1 hour, as Kafka 4.1.1 reports it). */
export const SNAPSHOT_INTERVAL_MS_DEFAULT = 3_600_000;
/** `metadata.log.max.snapshot.interval.ms=0`: Kafka takes no time-based snapshot, only by record bytes. */
export const SNAPSHOT_INTERVAL_NEVER = 0;
/** Committed entries replayed per read from the log. */
const REPLAY_ENTRIES_MAX = 256;

/** Thrown to a proposer when this node is not (or stopped being) the active controller. */
export class NotControllerError extends Error {
  override readonly name = 'NotControllerError';
  /** Kafka's NOT_CONTROLLER. */
  readonly errorCode = 41;
  readonly leader: LeaderAndEpoch;
  constructor(leader: LeaderAndEpoch, why: string) {
    super(
      `${why}; the active controller is ${leader.leaderId < 0 ? 'unknown' : `node ${leader.leaderId}`} (epoch ${leader.epoch})`,
    );
    this.leader = leader;
  }
}

/**
 * A committed entry that was not applied: its TopicRecord names a topic the image already has (two
 * creations of one name proposed before either committed, e.g. two clients' first FindCoordinator,
 * or a CreateTopics racing Metadata's auto-creation). Kafka's controller refuses the second at
 * proposal time; here every node skips it at replay, the same way, so the first topic and its logs
 * stay. Replacing the topic would delete and reopen its logs under acknowledged writes.
 */
export class DuplicateTopicError extends Error {
  override readonly name = 'DuplicateTopicError';
  /** Kafka's TOPIC_ALREADY_EXISTS. */
  readonly errorCode = 36;
  constructor(topic: string) {
    super(`Topic '${topic}' already exists.`);
  }
}

/** The name of a topic `records` would create again (its name taken by another topic id), if any. */
export function duplicateTopic(image: MetadataImage, records: readonly MetadataRecord[]): string | null {
  for (const record of records) {
    if (record.type !== 'TopicRecord') continue;
    const existing = image.topic(record.name);
    if (existing !== undefined && existing.topicId !== record.topicId) return record.name;
  }
  return null;
}

interface Pending {
  readonly offset: number;
  readonly epoch: number;
  readonly resolve: (offset: bigint) => void;
  readonly reject: (error: Error) => void;
}

interface SnapshotPayload {
  readonly records: readonly MetadataRecord[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A snapshot's payload (kstack's JSON of the records until snapshots become Kafka's `.checkpoint` files). */
export function encodeSnapshotPayload(records: readonly MetadataRecord[]): Uint8Array {
  return encoder.encode(JSON.stringify({ records } satisfies SnapshotPayload));
}

function decodeSnapshotPayload(payload: Uint8Array): readonly MetadataRecord[] {
  const value = JSON.parse(decoder.decode(payload)) as Partial<SnapshotPayload>;
  if (!Array.isArray(value.records)) throw new Error('metadata snapshot without a records array');
  return value.records;
}

/**
 * A proposal's records as the values of one batch, in Kafka's ApiMessageAndVersion format
 * (src/metadata/codec.ts): record i lands at `baseOffset + i`. A RegisterBrokerRecord's broker epoch
 * is the batch's base offset, written into the record as Kafka's controller writes its
 * `nextWriteOffset` there (it is the offset the registration's answer names). An empty proposal is
 * Kafka's NoOpRecord.
 */
export function encodeMetadataEntry(records: readonly MetadataRecord[], baseOffset: number): Uint8Array[] {
  if (records.length === 0) return [encodeMetadataRecord({ type: 'NoOpRecord' })];
  return records.map((record) =>
    encodeMetadataRecord(
      record.type === 'RegisterBrokerRecord' && record.brokerEpoch === undefined
        ? { ...record, brokerEpoch: baseOffset }
        : record,
    ),
  );
}

/** The metadata records of a committed entry (NoOpRecords carry nothing for the image). */
export function decodeMetadataEntry(records: readonly Uint8Array[]): MetadataRecord[] {
  const decoded: MetadataRecord[] = [];
  for (const bytes of records) {
    const record = decodeMetadataRecord(bytes);
    if (record.type !== 'NoOpRecord') decoded.push(record);
  }
  return decoded;
}

export class MetadataQuorum {
  readonly clusterId: string;
  /** Handed to the ControllerNode (`raftListener`). */
  readonly listener: Omit<RaftListener, 'onLeaderChange'>;
  readonly #noOpIntervalMs: number;
  readonly #onImage: (image: MetadataImage) => void;
  readonly #onRecords: (records: readonly MetadataRecord[], offset: bigint) => void;
  #driver: RaftDriver | null = null;
  #image: MetadataImage;
  /** The live ACL, SCRAM and quota records, which the image passes over (a snapshot holds them). */
  #passedOver = new PassedOverRecords();
  readonly #snapshotRecordBytes: number;
  readonly #snapshotIntervalMs: number;
  /** Record bytes replayed since the last snapshot (taken or installed). */
  #bytesSinceSnapshot = 0;
  #lastSnapshotMs = performance.now();
  /** A snapshot is due and waits for the replica's callback to return. */
  #snapshotQueued = false;
  /** The next log offset to replay. */
  #appliedEnd = 0;
  /** The Raft epoch of the last entry replayed (or of the snapshot installed). */
  #appliedEpoch = 0;
  /** Waiters of `untilEpochReplayed`, woken at each replayed batch. */
  readonly #epochWaiters = new Set<() => void>();
  readonly #pending: Pending[] = [];
  #noOpTimer: NodeJS.Timeout | null = null;

  constructor(options: {
    clusterId: string;
    noOpIntervalMs?: number;
    /** `metadata.log.max.record.bytes.between.snapshots`: record bytes that trigger a snapshot. */
    snapshotRecordBytes?: number;
    /**
     * `metadata.log.max.snapshot.interval.ms`: a snapshot at least this often while records come;
     * 0 disables the time trigger (`SNAPSHOT_INTERVAL_NEVER`), as in Kafka.
     */
    snapshotIntervalMs?: number;
    /** Called after each change of the image (committed records replayed, snapshot installed). */
    onImage?: (image: MetadataImage) => void;
    /**
     * Called with each committed batch as it is replayed (the delta a broker applies, e.g. its
     * `replayMetadata`), in log order; after a snapshot install, with every record it holds.
     */
    onRecords?: (records: readonly MetadataRecord[], offset: bigint) => void;
  }) {
    this.clusterId = options.clusterId;
    this.#noOpIntervalMs = options.noOpIntervalMs ?? NO_OP_INTERVAL_MS_DEFAULT;
    this.#snapshotRecordBytes = options.snapshotRecordBytes ?? SNAPSHOT_RECORD_BYTES_DEFAULT;
    this.#snapshotIntervalMs = options.snapshotIntervalMs ?? SNAPSHOT_INTERVAL_MS_DEFAULT;
    this.#onImage = options.onImage ?? (() => {});
    this.#onRecords = options.onRecords ?? (() => {});
    this.#image = MetadataImage.empty(options.clusterId, -1);
    this.listener = {
      onCommit: () => this.#replay(),
      onTruncate: (offset) => this.#failFrom(offset, 'the entry was truncated by a new leader'),
      // Kafka's controller renounces when its Raft leadership ends and fails every write still
      // waiting with NOT_CONTROLLER; the entries stay in the log, for a later leader to commit or cut.
      onResign: () =>
        this.#failFrom(0, 'this node resigned as quorum leader before the entry committed', {
          epoch: this.#driver?.leader().epoch ?? -1,
          leaderId: -1,
        }),
      onSnapshotInstalled: (id, bytes) => this.#install(id, bytes),
    };
  }

  /** Binds to the node's driver (after the node is built) and loads the local snapshot, if any. */
  attach(driver: RaftDriver): void {
    this.#driver = driver;
    const storage = driver.replica.storage;
    const bytes = storage.snapshotBytes();
    if (bytes !== null) this.#install(storage.snapshotId(), bytes);
    this.#appliedEnd = storage.logStartOffset();
    this.#noOpTimer = setInterval(() => {
      this.#noOp();
      this.#snapshotIfDue();
    }, this.#noOpIntervalMs);
  }

  detach(): void {
    if (this.#noOpTimer !== null) clearInterval(this.#noOpTimer);
    this.#noOpTimer = null;
    this.#failFrom(0, 'the controller stopped');
    this.#driver = null;
  }

  /** Tells the quorum the leader changed: proposals of an older term lose their proposer's answer. */
  onLeaderChange(leader: LeaderAndEpoch): void {
    const lost = this.#pending.filter((pending) => pending.epoch < leader.epoch);
    if (lost.length === 0) return;
    this.#pending.splice(0, this.#pending.length, ...this.#pending.filter((p) => p.epoch >= leader.epoch));
    for (const pending of lost) {
      pending.reject(
        new NotControllerError(leader, `leadership moved before offset ${pending.offset} committed`),
      );
    }
  }

  image(): MetadataImage {
    return this.#image;
  }

  /** The offset below which every entry is replayed into the image. */
  appliedEndOffset(): number {
    return this.#appliedEnd;
  }

  /**
   * The Raft epoch of the last entry replayed into the image. A new leader's first entry is its
   * leader-change entry: once an entry of its epoch is replayed, its image holds every entry
   * committed before it (until then a freshly elected leader may still lack committed ones).
   */
  appliedEpoch(): number {
    return this.#appliedEpoch;
  }

  /** Resolves once an entry of `epoch` (or later) is replayed, or after `timeoutMs`. */
  untilEpochReplayed(epoch: number, timeoutMs: number): Promise<void> {
    if (this.#appliedEpoch >= epoch) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#epochWaiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.#appliedEpoch >= epoch) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#epochWaiters.add(check);
    });
  }

  /**
   * Appends `records` as one entry on the active controller; resolves with its offset once it is
   * committed (and replayed here). Rejects with NotControllerError elsewhere or when leadership
   * moves first (the outcome is then unknown to this proposer, as for Kafka's NOT_CONTROLLER).
   */
  propose(records: readonly MetadataRecord[]): Promise<bigint> {
    const driver = this.#driverOrThrow();
    let appended: { offset: number; epoch: number };
    try {
      appended = driver.propose(encodeMetadataEntry(records, driver.replica.storage.endOffset()));
    } catch (error) {
      if (error instanceof NotLeaderError) {
        return Promise.reject(
          new NotControllerError(
            driver.activeController(),
            `node ${driver.nodeId} is not the active controller`,
          ),
        );
      }
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ ...appended, resolve, reject });
    });
  }

  /** The live ACL, SCRAM and quota records beside the image (what a snapshot holds of them). */
  passedOver(): PassedOverRecords {
    return this.#passedOver;
  }

  /**
   * Takes a snapshot of the image as replayed (at most the high watermark), compacted, and drops the
   * log below it; null when nothing was replayed past the log start.
   */
  snapshot(): SnapshotId | null {
    const driver = this.#driverOrThrow();
    const end = this.#appliedEnd;
    if (end <= driver.replica.storage.logStartOffset()) return null;
    const records = snapshotRecords(this.#image, this.#passedOver);
    const id = driver.replica.createSnapshot(end, encodeSnapshotPayload(records));
    this.#bytesSinceSnapshot = 0;
    this.#lastSnapshotMs = performance.now();
    return id;
  }

  /** Kafka's triggers: enough record bytes since the last snapshot, or its interval (unless 0) with any. */
  #snapshotIfDue(): void {
    if (this.#driver === null || this.#bytesSinceSnapshot === 0) return;
    const bytesDue = this.#bytesSinceSnapshot >= this.#snapshotRecordBytes;
    const timeDue =
      this.#snapshotIntervalMs !== SNAPSHOT_INTERVAL_NEVER &&
      performance.now() - this.#lastSnapshotMs >= this.#snapshotIntervalMs;
    if (bytesDue || timeDue) this.snapshot();
  }

  #driverOrThrow(): RaftDriver {
    if (this.#driver === null) throw new Error('the metadata quorum is not attached to a controller');
    return this.#driver;
  }

  #noOp(): void {
    const driver = this.#driver;
    if (driver === null || driver.replica.role() !== 'leader') return;
    // A NoOp nobody waits for: its commit only moves the high watermark.
    this.propose([]).catch(() => {});
  }

  #replay(): void {
    const driver = this.#driver;
    if (driver === null) return;
    const { replica } = driver;
    let changed = false;
    for (;;) {
      const entries = replica.readCommitted(this.#appliedEnd, REPLAY_ENTRIES_MAX);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (!entry.control) {
          const records = decodeMetadataEntry(entry.records);
          const lastOffset = BigInt(entryEndOffset(entry) - 1);
          const duplicate = duplicateTopic(this.#image, records);
          if (duplicate !== null) {
            this.#appliedEnd = entryEndOffset(entry);
            this.#appliedEpoch = entry.epoch;
            this.#settle(entry.offset, entry.epoch, new DuplicateTopicError(duplicate));
            continue;
          }
          if (records.length > 0) {
            this.#image = this.#image.apply(records, lastOffset);
            this.#passedOver.replay(records);
            for (const bytes of entry.records) this.#bytesSinceSnapshot += bytes.length;
            this.#onRecords(records, lastOffset);
            changed = true;
          }
        }
        this.#appliedEnd = entryEndOffset(entry);
        this.#appliedEpoch = entry.epoch;
        this.#settle(entry.offset, entry.epoch);
      }
    }
    if (changed) this.#onImage(this.#image);
    for (const check of [...this.#epochWaiters]) check();
    // Not inside the replica's commit callback: a snapshot rewrites the log the replica is serving.
    if (this.#bytesSinceSnapshot >= this.#snapshotRecordBytes && !this.#snapshotQueued) {
      this.#snapshotQueued = true;
      setImmediate(() => {
        this.#snapshotQueued = false;
        this.#snapshotIfDue();
      });
    }
  }

  /** Answers the proposal at `offset`: committed if it still has its epoch, else lost (or `refused`). */
  #settle(offset: number, epoch: number, refused?: Error): void {
    const at = this.#pending.findIndex((pending) => pending.offset === offset);
    if (at < 0) return;
    const [pending] = this.#pending.splice(at, 1);
    if (pending === undefined) return;
    if (pending.epoch === epoch && refused !== undefined) pending.reject(refused);
    else if (pending.epoch === epoch) pending.resolve(BigInt(offset));
    else
      pending.reject(
        new NotControllerError(
          this.#driverOrThrow().leader(),
          `offset ${offset} was replaced by another leader's entry`,
        ),
      );
  }

  #failFrom(offset: number, why: string, known?: LeaderAndEpoch): void {
    const leader = known ?? this.#driver?.leader() ?? { epoch: -1, leaderId: -1 };
    for (const pending of this.#pending.filter((p) => p.offset >= offset)) {
      pending.reject(new NotControllerError(leader, why));
    }
    this.#pending.splice(0, this.#pending.length, ...this.#pending.filter((p) => p.offset < offset));
  }

  /**
   * Replaces the image with a snapshot's. The broker is handed the delta from what it held (removals
   * of what the snapshot lacks, then the snapshot's records), as it builds its image from the batches.
   */
  #install(id: SnapshotId, bytes: Uint8Array): void {
    const records = decodeSnapshotPayload(bytes);
    const before = { image: this.#image, passedOver: this.#passedOver };
    const passedOver = new PassedOverRecords();
    passedOver.replay(records);
    const image = MetadataImage.empty(this.clusterId, -1).apply(records, BigInt(id.endOffset - 1));
    this.#image = image;
    this.#passedOver = passedOver;
    this.#appliedEnd = id.endOffset;
    this.#appliedEpoch = id.epoch;
    this.#bytesSinceSnapshot = 0;
    this.#lastSnapshotMs = performance.now();
    const delta = snapshotDelta(before, { image: this.#image, passedOver });
    if (delta.length > 0) this.#onRecords(delta, BigInt(id.endOffset - 1));
    this.#onImage(this.#image);
  }
}
