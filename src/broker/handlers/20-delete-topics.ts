import { DEADLINE_PASSED, deadlineAlreadyPassed } from '../../controller/admin-deadline.ts';
import {
  type DeleteTopicsRequestData,
  type DeleteTopicsResponseData,
  type Input,
  KafkaErrors,
  ZERO_UUID,
} from '../../protocol/index.ts';
import {
  controllerMutationQuota,
  THROTTLING_QUOTA_EXCEEDED,
  THROTTLING_QUOTA_MESSAGE,
} from '../../security/quotas.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/** DeleteTopics: by name (v0-5 `topicNames`, v6 `topics[].name`) or by id (v6). */
export const handler = defineHandler<DeleteTopicsRequestData, Input<DeleteTopicsResponseData>>({
  apiKey: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<DeleteTopicsResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
    const wanted =
      context.apiVersion >= 6
        ? request.topics
        : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    // timeoutMs 0 or below: Kafka's controller times the request out before it runs (admin-deadline.ts).
    if (deadlineAlreadyPassed(request.timeoutMs)) {
      return {
        throttleTimeMs: 0,
        responses: wanted.map((t) => ({ name: t.name, topicId: t.topicId, ...DEADLINE_PASSED })),
      };
    }
    const responses: Input<DeleteTopicsResponseData>['responses'] = [];
    // controller_mutation_rate (src/security/quotas.ts): refused per topic from v5, throttled before.
    const quota = controllerMutationQuota(context, 5);
    for (const topic of wanted) {
      let name = topic.name;
      // By id only from v6 (name null there); before, '' is just a name that does not exist.
      if (context.apiVersion >= 6 && (name === null || (name === '' && topic.topicId !== ZERO_UUID))) {
        name = broker.metadata().topicById(topic.topicId)?.name ?? null;
        if (name === null) {
          responses.push({
            name: null,
            topicId: topic.topicId,
            errorCode: KafkaErrors.UNKNOWN_TOPIC_ID.code,
            errorMessage: 'This server does not host this topic ID.',
          });
          continue;
        }
      }
      name ??= '';
      const existing = broker.metadata().topic(name);
      const topicId = existing?.topicId ?? ZERO_UUID;
      // An unknown topic is refused as such first, as Kafka does; the quota counts its partitions.
      if (existing !== undefined && quota.exceeded()) {
        responses.push({
          name,
          topicId,
          errorCode: THROTTLING_QUOTA_EXCEEDED,
          errorMessage: THROTTLING_QUOTA_MESSAGE,
        });
        continue;
      }
      const result = await broker.deleteTopic(name);
      if (result.errorCode === 0) quota.record(existing?.partitions.length ?? 0);
      responses.push({ name, topicId, errorCode: result.errorCode, errorMessage: result.errorMessage });
    }
    return { throttleTimeMs: quota.throttleTimeMs(), responses };
  },
});
