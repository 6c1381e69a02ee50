import { DEADLINE_PASSED, deadlineAlreadyPassed } from '../../controller/admin-deadline.ts';
import {
  type CreatePartitionsRequestData,
  type CreatePartitionsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import {
  controllerMutationQuota,
  THROTTLING_QUOTA_EXCEEDED,
  THROTTLING_QUOTA_MESSAGE,
} from '../../security/quotas.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import type { MetadataImage } from '../metadata-image.ts';
import { EXCESSIVE_PARTITIONS, NEW_PARTITIONS_PER_REQUEST_MAX } from '../request-limits.ts';

/**
 * Kafka's checks of an explicit assignment for `added` new partitions, in its order and words
 * (ReplicationControlManager): one replica list per new partition, each non-empty, naming only
 * registered brokers, none twice, as many as the topic's replication factor, and at least one
 * unfenced. Null when it is valid.
 */
function assignmentFault(
  image: MetadataImage,
  assignments: readonly (readonly number[])[],
  added: number,
  replicationFactor: number,
): string | null {
  if (assignments.length !== added) {
    return `Attempted to add ${added} additional partition(s), but only ${assignments.length} assignment(s) were specified.`;
  }
  const registered = new Set(image.brokers().map((b) => b.nodeId));
  for (const replicas of assignments) {
    if (replicas.length === 0) return 'The manual partition assignment includes an empty replica list.';
    const sorted = [...replicas].sort((a, b) => a - b);
    for (const [i, brokerId] of sorted.entries()) {
      if (!registered.has(brokerId)) {
        return `The manual partition assignment includes broker ${brokerId}, but no such broker is registered.`;
      }
      if (i > 0 && sorted[i - 1] === brokerId) {
        return `The manual partition assignment includes the broker ${brokerId} more than once.`;
      }
    }
    if (replicas.length !== replicationFactor) {
      return `The manual partition assignment includes a partition with ${replicas.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`;
    }
    if (replicas.every((id) => image.isFenced(id))) {
      return 'All partitions in the manual partition assignment are currently fenced or not found.';
    }
  }
  return null;
}

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
    // timeoutMs 0 or below: Kafka's controller times the request out before it runs (admin-deadline.ts).
    if (deadlineAlreadyPassed(request.timeoutMs)) {
      return {
        throttleTimeMs: 0,
        results: request.topics.map((t) => ({ name: t.name, ...DEADLINE_PASSED })),
      };
    }
    const results: Input<CreatePartitionsResponseData>['results'] = [];
    const currentCount = (name: string) => broker.metadata().topic(name)?.partitions.length ?? 0;
    const replicationFactorOf = (name: string) =>
      broker.metadata().topic(name)?.partitions[0]?.replicas.length ?? 1;
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
    // controller_mutation_rate (src/security/quotas.ts): refused per topic from v3, throttled before.
    const quota = controllerMutationQuota(context, 3);
    for (const topic of request.topics) {
      const current = currentCount(topic.name);
      const assignments = topic.assignments?.map((a) => a.brokerIds);
      const invalid =
        assignments === undefined || current === 0 || topic.count <= current
          ? null
          : assignmentFault(
              broker.metadata(),
              assignments,
              topic.count - current,
              replicationFactorOf(topic.name),
            );
      if (invalid !== null) {
        results.push({
          name: topic.name,
          errorCode: KafkaErrors.INVALID_REPLICA_ASSIGNMENT.code,
          errorMessage: invalid,
        });
        continue;
      }
      const exceeded = quota.exceeded();
      // Over the quota: the topic's own checks still come first (validate only), then the refusal.
      const result = await broker.createPartitions(
        topic.name,
        topic.count,
        request.validateOnly || exceeded,
        assignments,
      );
      if (exceeded && result.errorCode === 0) {
        results.push({
          name: topic.name,
          errorCode: THROTTLING_QUOTA_EXCEEDED,
          errorMessage: THROTTLING_QUOTA_MESSAGE,
        });
        continue;
      }
      if (result.errorCode === 0) quota.record(topic.count - current);
      results.push({ name: topic.name, errorCode: result.errorCode, errorMessage: result.errorMessage });
    }
    return { throttleTimeMs: quota.throttleTimeMs(), results };
  },
});
