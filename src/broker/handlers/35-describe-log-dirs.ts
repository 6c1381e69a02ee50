import { statfsSync } from 'node:fs';
import type { DescribeLogDirsRequestData, DescribeLogDirsResponseData, Input } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/** DescribeLogDirs: the one log dir, its partitions' sizes, and the disk's total/usable bytes (v4). */
export const handler = defineHandler<DescribeLogDirsRequestData, Input<DescribeLogDirsResponseData>>({
  apiKey: 35,
  name: 'DescribeLogDirs',
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const broker = brokerOf(context);
    const wanted = request.topics;
    const topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        partitionSize: bigint;
        offsetLag: bigint;
        isFutureKey: boolean;
      }[];
    }[] = [];
    for (const topic of broker.metadata().topics()) {
      const filter = wanted === null ? undefined : wanted.find((t) => t.topic === topic.name);
      if (wanted !== null && filter === undefined) continue;
      const partitions = [];
      for (const partition of topic.partitions) {
        if (filter !== undefined && !filter.partitions.includes(partition.partitionIndex)) continue;
        const replica = broker.get(topic.name, partition.partitionIndex);
        partitions.push({
          partitionIndex: partition.partitionIndex,
          partitionSize: BigInt(replica?.log.sizeBytes ?? 0),
          offsetLag: 0n,
          isFutureKey: false,
        });
      }
      topics.push({ name: topic.name, partitions });
    }
    let totalBytes = -1n;
    let usableBytes = -1n;
    try {
      const stats = statfsSync(broker.dataDir, { bigint: true });
      totalBytes = stats.blocks * stats.bsize;
      usableBytes = stats.bavail * stats.bsize;
    } catch {
      // Unknown sizes stay -1, as Kafka reports them.
    }
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [{ errorCode: 0, logDir: broker.dataDir, topics, totalBytes, usableBytes }],
    };
  },
});
