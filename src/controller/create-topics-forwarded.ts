/**
 * CreateTopics (19) on the controller listener: what a broker that is not the active controller
 * forwards (as Kafka 4 brokers forward CreateTopics to the controller; ACLs were checked on the
 * broker first). Answered only by the active controller, through its co-located broker's topic
 * admin (which proposes the records and answers once committed); elsewhere NOT_CONTROLLER, and
 * NOT_CONTROLLER too when this node stops leading while the proposal waits (resigned, or a newer
 * epoch): a forwarded request never travels on (`forwarded` in the spec), its sender retries, as
 * Kafka's controller answers (the reference's cut-off quorum leader: NOT_CONTROLLER "No controller
 * appears to be active." at its resignation, test/controller/admin-timeout-reference.long.ts).
 * `timeoutMs` 0 or below: REQUEST_TIMED_OUT, nothing written (admin-deadline.ts).
 */
import type { AdminResult, CreateTopicSpec, TopicView } from '../broker/services.ts';
import { INTERNAL_TOPICS } from '../broker/topic-names.ts';
import { KafkaErrors, type MessageValue } from '../protocol/index.ts';
import { DEADLINE_PASSED, deadlineAlreadyPassed } from './admin-deadline.ts';
import { CREATE_TOPICS_FORWARD_VERSION, CREATE_TOPICS_KEY } from './broker-lifecycle.ts';
import type { ControllerHandler } from './handler.ts';

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: { name: string; value: string | null }[];
}

export function createTopicsForwardedHandler(
  createTopic: (spec: CreateTopicSpec) => Promise<AdminResult & { topic?: TopicView }>,
  isActive: () => boolean,
): ControllerHandler {
  return {
    apiKey: CREATE_TOPICS_KEY,
    name: 'CreateTopics',
    minVersion: CREATE_TOPICS_FORWARD_VERSION,
    maxVersion: CREATE_TOPICS_FORWARD_VERSION,
    async handle(body: MessageValue): Promise<MessageValue> {
      const topics = body.topics as CreatableTopic[];
      const answers = [];
      for (const topic of topics) {
        if (deadlineAlreadyPassed(body.timeoutMs as number)) {
          answers.push({ name: topic.name, ...DEADLINE_PASSED });
          continue;
        }
        if (!isActive()) {
          answers.push({
            name: topic.name,
            errorCode: KafkaErrors.NOT_CONTROLLER.code,
            errorMessage: 'this node is not the active controller',
          });
          continue;
        }
        const assignments = [...topic.assignments]
          .sort((a, b) => a.partitionIndex - b.partitionIndex)
          .map((assignment) => assignment.brokerIds);
        const result = await createTopic({
          name: topic.name,
          numPartitions: topic.numPartitions,
          replicationFactor: topic.replicationFactor,
          assignments,
          configs: new Map(topic.configs.map((config) => [config.name, config.value])),
          validateOnly: body.validateOnly === true,
          // Brokers forward the creation of internal topics (the group and transaction coordinators').
          internal: INTERNAL_TOPICS.has(topic.name),
          forwarded: true,
        });
        answers.push({
          name: topic.name,
          ...(result.topic === undefined ? {} : { topicId: result.topic.topicId }),
          errorCode: result.errorCode,
          errorMessage: result.errorMessage,
          numPartitions: result.topic?.partitions.length ?? -1,
          replicationFactor: result.topic?.partitions[0]?.replicas.length ?? -1,
          configs: [],
        });
      }
      return { throttleTimeMs: 0, topics: answers };
    },
  };
}
