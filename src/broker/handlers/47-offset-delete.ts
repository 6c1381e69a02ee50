/** OffsetDelete 0: removes committed offsets of partitions a group no longer consumes. */

import { runtimeOf } from '../../coordinator/handler-support.ts';
import type { Input, OffsetDeleteRequestData, OffsetDeleteResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<OffsetDeleteRequestData, Input<OffsetDeleteResponseData>>({
  apiKey: 47,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const runtime = runtimeOf(context);
    if (runtime === undefined)
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, throttleTimeMs: 0, topics: [] };
    const metadata = context.broker.metadata();
    const unknown: { name: string; partitionIndex: number }[] = [];
    const known: { name: string; partitions: number[] }[] = [];
    for (const topic of request.topics) {
      const view = metadata.topic(topic.name);
      const partitions: number[] = [];
      for (const p of topic.partitions) {
        if (view === undefined || p.partitionIndex < 0 || p.partitionIndex >= view.partitions.length) {
          unknown.push({ name: topic.name, partitionIndex: p.partitionIndex });
        } else {
          partitions.push(p.partitionIndex);
        }
      }
      if (partitions.length > 0) known.push({ name: topic.name, partitions });
    }
    const result = await runtime.coordinator.deleteOffsets(request.groupId, known);
    if (result.errorCode !== ErrorCode.NONE)
      return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
    const topics = new Map<
      string,
      { name: string; partitions: { partitionIndex: number; errorCode: number }[] }
    >();
    const add = (name: string, partitionIndex: number, errorCode: number) => {
      let entry = topics.get(name);
      if (entry === undefined) {
        entry = { name, partitions: [] };
        topics.set(name, entry);
      }
      entry.partitions.push({ partitionIndex, errorCode });
    };
    for (const r of result.results) add(r.topic, r.partition, r.errorCode);
    for (const u of unknown) add(u.name, u.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics: [...topics.values()] };
  },
});
