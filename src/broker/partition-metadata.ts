/**
 * Kafka's `partition.metadata` file: the id of the topic a partition directory belongs to
 * (`version: 0` and `topic_id: <id>` lines, as Kafka's PartitionMetadataFile writes them).
 * A name can be used again after its topic is deleted, so a directory `<topic>-<partition>` alone
 * does not say which incarnation its records belong to: a node replaying its metadata log meets
 * the old topic before the new one, and a node that was down while a topic was deleted and made
 * again finds the old topic's records under the new one's name. The broker reads this file before
 * it opens or deletes a partition's log.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PARTITION_METADATA_FILE = 'partition.metadata';
const VERSION = 0;

/**
 * The topic id recorded in `partitionDir`, or undefined when the directory or its file is absent
 * (a new partition, or one written before kstack kept the file).
 */
export function readPartitionTopicId(partitionDir: string): string | undefined {
  const path = join(partitionDir, PARTITION_METADATA_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const version = /^version: (\d+)$/m.exec(text)?.[1];
  const topicId = /^topic_id: (\S+)$/m.exec(text)?.[1];
  if (version !== String(VERSION) || topicId === undefined) {
    throw new Error(
      `${path}: not a version ${VERSION} partition.metadata file (${JSON.stringify(text.slice(0, 80))})`,
    );
  }
  return topicId;
}

/** Records `topicId` as the owner of `partitionDir` (written aside, then renamed into place). */
export function writePartitionTopicId(partitionDir: string, topicId: string): void {
  mkdirSync(partitionDir, { recursive: true });
  const path = join(partitionDir, PARTITION_METADATA_FILE);
  writeFileSync(`${path}.tmp`, `version: ${VERSION}\ntopic_id: ${topicId}\n`, { flush: true });
  renameSync(`${path}.tmp`, path);
}
