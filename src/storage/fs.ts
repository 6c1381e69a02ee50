// The filesystem the log sees: a small synchronous interface over node:fs, so that a
// simulator (or MemoryFs) can stand in for the disk. Appends and reads are synchronous
// on purpose: they hit the page cache and a partition's log is touched by one thread,
// as in Kafka; fsync is the only call that waits for the device.

import * as fs from 'node:fs';
import { dirname } from 'node:path';

/** A file handle as returned by `open`. */
export type FileHandle = number;

export interface StorageFs {
  mkdirp(path: string): void;
  /** Names (not paths) in a directory; [] when it does not exist. */
  list(path: string): string[];
  exists(path: string): boolean;
  /** Opens for reading and writing, creating the file when absent. */
  open(path: string): FileHandle;
  size(fd: FileHandle): number;
  /** Writes `length` bytes of `buf` from `offset` at file `position`; returns bytes written. */
  write(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns bytes read. */
  read(fd: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number;
  truncate(fd: FileHandle, length: number): void;
  /** Makes the file's written bytes durable. */
  fsync(fd: FileHandle): void;
  close(fd: FileHandle): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Removes a directory and everything in it. */
  removeTree(path: string): void;
  /** Whole small file, or null when absent. */
  readFile(path: string): Buffer | null;
  /** Replaces a small file atomically: write a temporary file, fsync it, rename over. */
  writeFileAtomic(path: string, data: Uint8Array): void;
}

/** StorageFs over node:fs. */
export const nodeFs: StorageFs = {
  mkdirp: (path) => void fs.mkdirSync(path, { recursive: true }),
  list: (path) => {
    try {
      return fs.readdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  },
  exists: (path) => fs.existsSync(path),
  open: (path) => fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644),
  size: (fd) => fs.fstatSync(fd).size,
  write: (fd, buf, offset, length, position) => {
    let written = 0;
    while (written < length) {
      written += fs.writeSync(fd, buf, offset + written, length - written, position + written);
    }
    return written;
  },
  read: (fd, buf, offset, length, position) => {
    let total = 0;
    while (total < length) {
      const n = fs.readSync(fd, buf, offset + total, length - total, position + total);
      if (n === 0) break;
      total += n;
    }
    return total;
  },
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (path) => {
    try {
      fs.unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
  removeTree: (path) => fs.rmSync(path, { recursive: true, force: true }),
  readFile: (path) => {
    try {
      return fs.readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  },
  writeFileAtomic: (path, data) => {
    const temporary = `${path}.tmp`;
    const fd = fs.openSync(temporary, 'w', 0o644);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, path);
    // The rename itself is made durable by syncing the directory.
    const dirFd = fs.openSync(dirname(path), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  },
};
