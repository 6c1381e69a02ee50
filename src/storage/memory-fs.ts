// An in-memory StorageFs: the disk of the in-memory partition log and of simulations.
// It tracks which bytes were fsynced, so `crash()` can drop what a power loss would.

import { basename, dirname } from 'node:path';
import type { FileHandle, StorageFs } from './fs.ts';

interface MemoryFile {
  data: Buffer;
  size: number;
  /** Bytes known durable: the size at the last fsync. */
  syncedSize: number;
}

/** Bound on one in-memory file, so a runaway test fails instead of eating the machine. */
export const MEMORY_FILE_BYTES_MAX = 1024 * 1024 * 1024;

export class MemoryFs implements StorageFs {
  readonly #files = new Map<string, MemoryFile>();
  readonly #dirs = new Set<string>(['/', '.']);
  readonly #handles = new Map<FileHandle, string>();
  #nextHandle = 3;

  mkdirp(path: string): void {
    let p = path;
    while (!this.#dirs.has(p)) {
      this.#dirs.add(p);
      p = dirname(p);
    }
  }

  list(path: string): string[] {
    const names = new Set<string>();
    for (const file of [...this.#files.keys(), ...this.#dirs]) {
      if (dirname(file) === path && file !== path) names.add(basename(file));
    }
    return [...names].sort();
  }

  exists(path: string): boolean {
    return this.#files.has(path) || this.#dirs.has(path);
  }

  open(path: string): FileHandle {
    if (!this.#dirs.has(dirname(path))) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    if (!this.#files.has(path)) this.#files.set(path, { data: Buffer.alloc(4096), size: 0, syncedSize: 0 });
    const fd = this.#nextHandle++;
    this.#handles.set(fd, path);
    return fd;
  }

  #file(fd: FileHandle): MemoryFile {
    const path = this.#handles.get(fd);
    const file = path === undefined ? undefined : this.#files.get(path);
    if (!file) throw Object.assign(new Error(`EBADF: ${fd}`), { code: 'EBADF' });
    return file;
  }

  size(fd: FileHandle): number {
    return this.#file(fd).size;
  }

  write(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.#file(fd);
    const end = position + length;
    if (end > MEMORY_FILE_BYTES_MAX) throw new Error(`in-memory file over ${MEMORY_FILE_BYTES_MAX} bytes`);
    if (end > file.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, file.data.length * 2));
      file.data.copy(grown, 0, 0, file.size);
      file.data = grown;
    }
    if (position > file.size) file.data.fill(0, file.size, position);
    file.data.set(buf.subarray(offset, offset + length), position);
    file.size = Math.max(file.size, end);
    return length;
  }

  read(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.#file(fd);
    const n = Math.max(0, Math.min(length, file.size - position));
    buf.set(file.data.subarray(position, position + n), offset);
    return n;
  }

  truncate(fd: FileHandle, length: number): void {
    const file = this.#file(fd);
    if (length > file.size)
      this.write(fd, Buffer.alloc(length - file.size), 0, length - file.size, file.size);
    file.size = length;
    file.syncedSize = Math.min(file.syncedSize, length);
  }

  fsync(fd: FileHandle): void {
    const file = this.#file(fd);
    file.syncedSize = file.size;
  }

  close(fd: FileHandle): void {
    this.#handles.delete(fd);
  }

  rename(from: string, to: string): void {
    const file = this.#files.get(from);
    if (!file) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    this.#files.delete(from);
    this.#files.set(to, file);
    for (const [fd, path] of this.#handles) if (path === from) this.#handles.set(fd, to);
  }

  unlink(path: string): void {
    this.#files.delete(path);
  }

  removeTree(path: string): void {
    for (const file of [...this.#files.keys()])
      if (file === path || file.startsWith(`${path}/`)) this.#files.delete(file);
    for (const dir of [...this.#dirs]) if (dir === path || dir.startsWith(`${path}/`)) this.#dirs.delete(dir);
  }

  readFile(path: string): Buffer | null {
    const file = this.#files.get(path);
    return file ? Buffer.from(file.data.subarray(0, file.size)) : null;
  }

  writeFileAtomic(path: string, data: Uint8Array): void {
    this.mkdirp(dirname(path));
    const copy = Buffer.from(data);
    this.#files.set(path, { data: copy, size: copy.length, syncedSize: copy.length });
  }

  /**
   * A power loss: every open handle is gone and each file keeps only its fsynced bytes
   * (what the page cache held is lost). A process kill (kill -9) loses nothing: use
   * `closeAll()` for that.
   */
  crash(): void {
    this.#handles.clear();
    for (const file of this.#files.values()) file.size = file.syncedSize;
  }

  /** A process kill: handles are dropped, the bytes written stay (the page cache survives). */
  closeAll(): void {
    this.#handles.clear();
  }

  /** Direct access for corruption tests. */
  fileBytes(path: string): Buffer | null {
    return this.readFile(path);
  }
  replaceFile(path: string, data: Uint8Array): void {
    const copy = Buffer.from(data);
    this.#files.set(path, { data: copy, size: copy.length, syncedSize: copy.length });
  }
}
