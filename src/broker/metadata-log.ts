/**
 * The single-node metadata log: metadata records appended as JSON lines to
 * `<data-dir>/__cluster_metadata/records.jsonl` and fsynced before they take effect, so
 * a restart replays them into the same image. A torn last line (crash mid-write) is
 * dropped at load. The Raft quorum of the cluster issue replaces this file with a
 * replicated log of the same records.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataRecord } from './metadata-image.ts';

export class MetadataLog {
  readonly #path: string;
  #fd: number;
  #nextOffset = 0n;

  private constructor(path: string, fd: number, nextOffset: bigint) {
    this.#path = path;
    this.#fd = fd;
    this.#nextOffset = nextOffset;
  }

  /** Opens (creating) the log and returns it with the records it holds. */
  static open(dataDir: string): { log: MetadataLog; records: MetadataRecord[] } {
    const folder = join(dataDir, '__cluster_metadata');
    mkdirSync(folder, { recursive: true });
    const path = join(folder, 'records.jsonl');
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = '';
    }
    const records: MetadataRecord[] = [];
    let validBytes = 0;
    let position = 0;
    while (position < text.length) {
      const end = text.indexOf('\n', position);
      if (end < 0) break;
      try {
        records.push(JSON.parse(text.slice(position, end)) as MetadataRecord);
      } catch {
        break;
      }
      position = end + 1;
      validBytes = Buffer.byteLength(text.slice(0, position));
    }
    const fd = openSync(path, 'a');
    if (validBytes < Buffer.byteLength(text)) truncateSync(path, validBytes);
    return { log: new MetadataLog(path, fd, BigInt(records.length)), records };
  }

  get path(): string {
    return this.#path;
  }

  /** Appends and fsyncs; returns the offset of the last record. */
  append(records: readonly MetadataRecord[]): bigint {
    const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    writeSync(this.#fd, text);
    fsyncSync(this.#fd);
    this.#nextOffset += BigInt(records.length);
    return this.#nextOffset - 1n;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}
