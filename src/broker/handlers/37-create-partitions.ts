import {
  type CreatePartitionsRequestData,
  type CreatePartitionsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { EXCESSIVE_PARTITIONS, NEW_PARTITIONS_PER_REQUEST_MAX } from '../request-limits.ts';

/** CreatePartitions: grows a topic to `count` partitions (never shrinks), optionally validate-only. */
export const handler = defineHandler<CreatePartitionsRequestData, Input<CreatePartitionsResponseData>>({
  apiKey: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<CreatePartitionsResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
    const results: Input<CreatePartitionsResponseData>['results'] = [];
    const currentCount = (name: string) => broker.metadata().topic(name)?.partitions.length ?? 0;
    const newPartitions = request.topics.reduce(
      (total, t) => total + Math.max(0, t.count - currentCount(t.name)),
      0,
    );
    if (newPartitions > NEW_PARTITIONS_PER_REQUEST_MAX) {
      return {
        throttleTimeMs: 0,
        results: request.topics.map((t) => ({ name: t.name, ...EXCESSIVE_PARTITIONS })),
      };
    }
    for (const topic of request.topics) {
      const current = currentCount(topic.name);
      if (topic.assignments !== null) {
        const added = topic.count - current;
        const bad =
          topic.assignments.length !== added ||
          topic.assignments.some(
            (a) => a.brokerIds.length === 0 || a.brokerIds.some((id) => id !== broker.nodeId),
          );
        if (bad && added > 0) {
          results.push({
            name: topic.name,
            errorCode: KafkaErrors.INVALID_REPLICA_ASSIGNMENT.code,
            errorMessage: `Invalid replica assignment: expected ${added} assignments naming only broker ${broker.nodeId}.`,
          });
          continue;
        }
      }
      const result = await broker.createPartitions(topic.name, topic.count, request.validateOnly);
      results.push({ name: topic.name, errorCode: result.errorCode, errorMessage: result.errorMessage });
    }
    return { throttleTimeMs: 0, results };
  },
});
