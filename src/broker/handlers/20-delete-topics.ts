import {
  type DeleteTopicsRequestData,
  type DeleteTopicsResponseData,
  type Input,
  KafkaErrors,
  ZERO_UUID,
} from '../../protocol/index.ts';
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
    const responses: Input<DeleteTopicsResponseData>['responses'] = [];
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
      const topicId = broker.metadata().topic(name)?.topicId ?? ZERO_UUID;
      const result = await broker.deleteTopic(name);
      responses.push({ name, topicId, errorCode: result.errorCode, errorMessage: result.errorMessage });
    }
    return { throttleTimeMs: 0, responses };
  },
});
