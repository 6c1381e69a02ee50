import { DEADLINE_PASSED, deadlineAlreadyPassed } from '../../controller/admin-deadline.ts';
import {
  type CreateTopicsRequestData,
  type CreateTopicsResponseData,
  type Input,
  KafkaErrors,
  ZERO_UUID,
} from '../../protocol/index.ts';
import {
  controllerMutationQuota,
  THROTTLING_QUOTA_EXCEEDED,
  THROTTLING_QUOTA_MESSAGE,
} from '../../security/quotas.ts';
import { describeTopicConfigs } from '../config-describer.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { EXCESSIVE_PARTITIONS, NEW_PARTITIONS_PER_REQUEST_MAX } from '../request-limits.ts';

/**
 * CreateTopics: Kafka's name rules, partitions and replication factor (-1: broker
 * defaults), explicit assignments, validated configs, validate-only. From v5 the answer
 * carries the topic id, partition count, replication factor and configs in force.
 */
export const handler = defineHandler<CreateTopicsRequestData, Input<CreateTopicsResponseData>>({
  apiKey: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  async handle(request, context) {
    const broker = brokerOf(context);
    const topics: Input<CreateTopicsResponseData>['topics'] = [];
    const seen = new Set<string>();
    const defaultPartitions = broker.config.getNumber('num.partitions');
    const newPartitions = request.topics.reduce(
      (total, t) =>
        total +
        (t.assignments.length > 0
          ? t.assignments.length
          : t.numPartitions === -1
            ? defaultPartitions
            : t.numPartitions),
      0,
    );
    const tooMany = newPartitions > NEW_PARTITIONS_PER_REQUEST_MAX;
    // timeoutMs 0 or below: Kafka's controller times the request out before it runs (admin-deadline.ts).
    const expired = deadlineAlreadyPassed(request.timeoutMs);
    // controller_mutation_rate (src/security/quotas.ts): refused per topic from v6, throttled before.
    const quota = controllerMutationQuota(context, 6);
    for (const topic of request.topics) {
      if (seen.has(topic.name)) continue;
      seen.add(topic.name);
      const assignments: number[][] = [];
      for (const assignment of topic.assignments) {
        if (assignment.partitionIndex >= 0 && assignment.partitionIndex < topic.assignments.length) {
          assignments[assignment.partitionIndex] = assignment.brokerIds;
        }
      }
      const consecutive =
        assignments.length === topic.assignments.length && !assignments.includes(undefined as never);
      const result = expired
        ? DEADLINE_PASSED
        : tooMany
          ? EXCESSIVE_PARTITIONS
          : !consecutive
            ? {
                errorCode: KafkaErrors.INVALID_REPLICA_ASSIGNMENT.code,
                errorMessage:
                  'Partitions of a replica assignment should be a consecutive 0-based integer sequence.',
              }
            : await (async () => {
                const creation = {
                  name: topic.name,
                  numPartitions: topic.numPartitions,
                  replicationFactor: topic.replicationFactor,
                  assignments,
                  configs: new Map(topic.configs.map((c) => [c.name, c.value])),
                  validateOnly: request.validateOnly,
                };
                if (!quota.exceeded()) return broker.createTopic(creation);
                // Over the quota: Kafka's checks of the topic still come first, then the refusal.
                const checked = await broker.createTopic({ ...creation, validateOnly: true });
                return checked.errorCode !== 0
                  ? checked
                  : { errorCode: THROTTLING_QUOTA_EXCEEDED, errorMessage: THROTTLING_QUOTA_MESSAGE };
              })();
      if (result.errorCode !== 0) {
        topics.push({
          name: topic.name,
          topicId: ZERO_UUID,
          errorCode: result.errorCode,
          errorMessage: result.errorMessage,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        });
        continue;
      }
      const view = 'topic' in result ? result.topic : undefined;
      const overrides = new Map(
        topic.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value as string]),
      );
      const numPartitions =
        view?.partitions.length ??
        (topic.numPartitions === -1 ? broker.config.getNumber('num.partitions') : topic.numPartitions);
      quota.record(topic.assignments.length > 0 ? topic.assignments.length : numPartitions);
      topics.push({
        name: topic.name,
        topicId: view?.topicId ?? ZERO_UUID,
        errorCode: 0,
        errorMessage: null,
        numPartitions: topic.assignments.length > 0 ? topic.assignments.length : numPartitions,
        replicationFactor:
          topic.replicationFactor === -1
            ? (topic.assignments[0]?.brokerIds.length ??
              broker.config.getNumber('default.replication.factor'))
            : topic.replicationFactor,
        configs: describeTopicConfigs(
          broker,
          view ?? {
            name: topic.name,
            topicId: ZERO_UUID,
            internal: false,
            partitions: [],
            configs: overrides,
          },
          null,
          false,
          false,
        ).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.configSource,
          isSensitive: c.isSensitive,
        })),
      });
    }
    return { throttleTimeMs: quota.throttleTimeMs(), topics };
  },
});
