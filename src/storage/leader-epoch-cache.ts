// Leader epoch → start offset (KIP-101), persisted in `leader-epoch-checkpoint` in
// Kafka's text format:
//   0            (version)
//   N            (entries)
//   epoch offset (N lines)
// Used by OffsetForLeaderEpoch and by follower truncation.

import { invariant } from './errors.ts';
import type { StorageFs } from './fs.ts';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
const CHECKPOINT_VERSION = 0;

export class LeaderEpochCache {
  readonly #fs: StorageFs;
  readonly #path: string | null;
  #entries: EpochEntry[] = [];

  /** `path` null keeps the cache in memory only. */
  constructor(fs: StorageFs, path: string | null) {
    this.#fs = fs;
    this.#path = path;
  }

  /** Loads the checkpoint; false when it is missing or unreadable (the caller rebuilds). */
  load(): boolean {
    if (this.#path === null) return false;
    const data = this.#fs.readFile(this.#path);
    if (data === null) return false;
    const parsed = parseCheckpoint(data.toString('utf8'));
    if (parsed === null) return false;
    this.#entries = parsed;
    return true;
  }

  entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Records that `epoch` starts at `startOffset` (the offset of a batch being appended, so the log
   * end). A known epoch is ignored. Epochs starting at or after `startOffset` hold no record: they are
   * start marks of leaderships that wrote nothing (a node led a partition from a replayed, already
   * superseded image, then follows and copies older epochs' batches); they are dropped, as Kafka's
   * LeaderEpochFileCache.maybeTruncateNonMonotonicEntries drops them. Any other older epoch is a bug.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return; // batches written without an epoch (-1) carry no information
    if (epoch < this.latestEpoch() && this.#entries.at(-1)!.startOffset >= startOffset) {
      this.#entries = this.#entries.filter((e) => e.startOffset < startOffset);
      this.#persist();
    }
    const latest = this.#entries.at(-1);
    if (latest && epoch === latest.epoch) return;
    invariant(
      !latest || epoch > latest.epoch,
      () => `leader epoch ${epoch} after ${latest?.epoch}: epochs never go back`,
    );
    invariant(
      !latest || startOffset >= latest.startOffset,
      () =>
        `epoch ${epoch} starts at ${startOffset}, before epoch ${latest?.epoch} at ${latest?.startOffset}`,
    );
    this.#entries.push({ epoch, startOffset });
    this.#persist();
  }

  /**
   * Kafka's `endOffsetFor`: for the latest epoch, the log end offset; else the start
   * offset of the first higher epoch, paired with the largest known epoch ≤ the one asked.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    if (epoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (epoch === this.latestEpoch()) return { epoch, endOffset: logEndOffset };
    const higher = this.#entries.find((e) => e.epoch > epoch);
    if (!higher) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const floor = this.#entries.findLast((e) => e.epoch <= epoch);
    return floor
      ? { epoch: floor.epoch, endOffset: higher.startOffset }
      : { epoch, endOffset: higher.startOffset };
  }

  /** The epoch the record at `offset` was written in, or -1. */
  epochForOffset(offset: number): number {
    return this.#entries.findLast((e) => e.startOffset <= offset)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** Drops epochs starting at or after `endOffset` (log truncation). */
  truncateFromEnd(endOffset: number): void {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset);
    if (kept.length !== this.#entries.length) {
      this.#entries = kept;
      this.#persist();
    }
  }

  /** Moves the start to `startOffset` (log start moved): earlier epochs go, the one holding it starts there. */
  truncateFromStart(startOffset: number): void {
    const holding = this.#entries.findLastIndex((e) => e.startOffset <= startOffset);
    if (holding < 0) return;
    const kept = this.#entries.slice(holding).map((e, i) => (i === 0 ? { ...e, startOffset } : e));
    const changed = holding > 0 || this.#entries[0]!.startOffset !== startOffset;
    if (changed) {
      this.#entries = kept;
      this.#persist();
    }
  }

  clear(): void {
    this.#entries = [];
    this.#persist();
  }

  /** Replaces the content (rebuilt from batches at recovery). */
  reset(entries: EpochEntry[]): void {
    this.#entries = entries;
    this.#persist();
  }

  #persist(): void {
    if (this.#path === null) return;
    const lines = [String(CHECKPOINT_VERSION), String(this.#entries.length)];
    for (const e of this.#entries) lines.push(`${e.epoch} ${e.startOffset}`);
    this.#fs.writeFileAtomic(this.#path, Buffer.from(`${lines.join('\n')}\n`));
  }
}

function parseCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== String(CHECKPOINT_VERSION)) return null;
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count !== lines.length - 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epoch, startOffset] = line.split(' ').map(Number);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) return null;
    const last = entries.at(-1);
    if (last && (epoch! <= last.epoch || startOffset! < last.startOffset)) return null;
    entries.push({ epoch: epoch!, startOffset: startOffset! });
  }
  return entries;
}
