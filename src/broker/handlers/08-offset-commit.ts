/** OffsetCommit 0-9: stores a group's consumed positions in `__consumer_offsets`. */

import type { OffsetToCommit } from '../../coordinator/group-coordinator.ts';
import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, OffsetCommitRequestData, OffsetCommitResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

type Answer = { name: string; partitions: { partitionIndex: number; errorCode: number }[] };

export const handler = defineHandler<OffsetCommitRequestData, Input<OffsetCommitResponseData>>({
  apiKey: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const version = context.apiVersion;
    const runtime = runtimeOf(context);
    const answers = new Map<string, Answer>();
    const answer = (topic: string, partitionIndex: number, errorCode: number) => {
      let entry = answers.get(topic);
      if (entry === undefined) {
        entry = { name: topic, partitions: [] };
        answers.set(topic, entry);
      }
      entry.partitions.push({ partitionIndex, errorCode });
    };
    const metadata = context.broker.metadata();
    const offsets: OffsetToCommit[] = [];
    for (const topic of request.topics) {
      const known = metadata.topic(topic.name);
      for (const p of topic.partitions) {
        if (runtime === undefined) {
          answer(topic.name, p.partitionIndex, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        } else if (
          known === undefined ||
          p.partitionIndex < 0 ||
          p.partitionIndex >= known.partitions.length
        ) {
          answer(topic.name, p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        } else {
          offsets.push({
            topic: topic.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
            metadata: p.committedMetadata,
          });
        }
      }
    }
    if (runtime !== undefined && offsets.length > 0) {
      const results = await runtime.coordinator.commitOffsets({
        groupId: request.groupId,
        generationId: version >= 1 ? request.generationIdOrMemberEpoch : -1,
        memberId: version >= 1 ? request.memberId : '',
        groupInstanceId: version >= 7 ? request.groupInstanceId : null,
        retentionTimeMs: version >= 2 && version <= 4 ? Number(request.retentionTimeMs) : -1,
        offsets,
        apiVersion: version,
      });
      for (const r of results) answer(r.topic, r.partition, r.errorCode);
    }
    return { throttleTimeMs: 0, topics: [...answers.values()] };
  },
});
