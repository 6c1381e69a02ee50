/**
 * The clean shutdown file (KIP-966): a broker that stopped cleanly (its logs flushed and closed)
 * leaves its broker epoch in `<data dir>/.kafka_cleanshutdown`, as Kafka's CleanShutdownFileHandler
 * writes `{"version":0,"brokerEpoch":N}`. At its next start the broker reads the file and deletes it
 * (a crash later must not pass for a clean stop), and sends the epoch as BrokerRegistration's
 * PreviousBrokerEpoch: the controller keeps the broker in the ELR only when it names the epoch the
 * broker was registered with, and treats anything else (-1 after a crash) as an unclean shutdown.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
/** The file's `version`, as Kafka writes it. */
const CLEAN_SHUTDOWN_FILE_VERSION = 0;
/** PreviousBrokerEpoch when there was no clean shutdown (Kafka's default). */
export const NO_PREVIOUS_BROKER_EPOCH = -1;

/** Writes the file atomically and durably (temporary file, fsync, rename, directory fsync). */
export function writeCleanShutdown(dataDir: string, brokerEpoch: number): void {
  const file = join(dataDir, CLEAN_SHUTDOWN_FILE);
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify({ version: CLEAN_SHUTDOWN_FILE_VERSION, brokerEpoch }), {
    flush: true,
  });
  renameSync(temporary, file);
  const directory = openSync(dataDir, 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/**
 * The broker epoch a clean shutdown left, or NO_PREVIOUS_BROKER_EPOCH (no file, or one that does
 * not parse: taken as unclean, the safe side); the file is deleted either way.
 */
export function takeCleanShutdown(dataDir: string): number {
  const file = join(dataDir, CLEAN_SHUTDOWN_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return NO_PREVIOUS_BROKER_EPOCH;
  }
  rmSync(file, { force: true });
  try {
    const value = JSON.parse(text) as { version?: unknown; brokerEpoch?: unknown };
    const epoch = value.brokerEpoch;
    return value.version === CLEAN_SHUTDOWN_FILE_VERSION &&
      Number.isSafeInteger(epoch) &&
      (epoch as number) >= 0
      ? (epoch as number)
      : NO_PREVIOUS_BROKER_EPOCH;
  } catch {
    return NO_PREVIOUS_BROKER_EPOCH;
  }
}
