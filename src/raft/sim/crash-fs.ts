// A StorageFs for the simulator: MemoryFs plus the knowledge of which bytes of each file were
// fsynced, so a crash can keep a random part of the unsynced tail (a torn write) and garble it,
// as a disk that lost power halfway through a write may.

import type { FileHandle, StorageFs } from '../../storage/fs.ts';
import { MemoryFs } from '../../storage/memory-fs.ts';
import type { SeededRandom } from './random.ts';

export class CrashFs implements StorageFs {
  readonly inner = new MemoryFs();
  readonly #paths = new Map<FileHandle, string>();
  readonly #synced = new Map<string, number>();

  mkdirp(path: string): void {
    this.inner.mkdirp(path);
  }
  list(path: string): string[] {
    return this.inner.list(path);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  open(path: string): FileHandle {
    const fd = this.inner.open(path);
    this.#paths.set(fd, path);
    if (!this.#synced.has(path)) this.#synced.set(path, 0);
    return fd;
  }
  size(fd: FileHandle): number {
    return this.inner.size(fd);
  }
  write(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.write(fd, buf, offset, length, position);
  }
  read(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, buf, offset, length, position);
  }
  truncate(fd: FileHandle, length: number): void {
    this.inner.truncate(fd, length);
    const path = this.#paths.get(fd);
    if (path !== undefined) this.#synced.set(path, Math.min(this.#synced.get(path) ?? 0, length));
  }
  fsync(fd: FileHandle): void {
    this.inner.fsync(fd);
    const path = this.#paths.get(fd);
    if (path !== undefined) this.#synced.set(path, this.inner.size(fd));
  }
  close(fd: FileHandle): void {
    this.inner.close(fd);
    this.#paths.delete(fd);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
    this.#synced.set(to, this.#synced.get(from) ?? 0);
    this.#synced.delete(from);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
    this.#synced.delete(path);
  }
  removeTree(path: string): void {
    this.inner.removeTree(path);
  }
  readFile(path: string): Buffer | null {
    return this.inner.readFile(path);
  }
  writeFileAtomic(path: string, data: Uint8Array): void {
    this.inner.writeFileAtomic(path, data);
    this.#synced.set(path, data.length);
    this.onAtomicWrite?.(path);
  }

  /** Called after each atomic file replacement (the simulator crashes nodes right after votes). */
  onAtomicWrite: ((path: string) => void) | null = null;

  /** Bytes written to `path` but not yet fsynced. */
  unsyncedBytes(path: string): number {
    return (this.inner.readFile(path)?.length ?? 0) - (this.#synced.get(path) ?? 0);
  }

  /**
   * A power loss. Each file keeps its fsynced bytes; with `torn`, it also keeps a random prefix of
   * its unsynced tail, whose last kept byte may be garbled. Returns the bytes cut or garbled.
   */
  crash(random: SeededRandom, torn: boolean): number {
    const tornFiles: [string, Buffer][] = [];
    let damaged = 0;
    for (const [path, synced] of this.#synced) {
      const bytes = this.inner.readFile(path);
      if (bytes === null || bytes.length <= synced) continue;
      if (!torn) {
        damaged += bytes.length - synced;
        continue;
      }
      const keep = synced + random.int(bytes.length - synced + 1);
      const kept = Buffer.from(bytes.subarray(0, keep));
      if (keep > synced && random.chance(0.5)) kept[keep - 1] = (kept[keep - 1] ?? 0) ^ (1 + random.int(255));
      damaged += bytes.length - synced;
      tornFiles.push([path, kept]);
    }
    this.inner.crash();
    this.#paths.clear();
    for (const [path, kept] of tornFiles) {
      this.inner.replaceFile(path, kept);
      this.#synced.set(path, kept.length);
    }
    return damaged;
  }
}
