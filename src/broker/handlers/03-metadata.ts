import {
  type Input,
  KafkaErrors,
  type MetadataRequestData,
  type MetadataResponseData,
  ZERO_UUID,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { AUTHORIZED_OPERATIONS_OMITTED, brokerOf } from '../handler-support.ts';
import type { TopicView } from '../services.ts';
import { topicNameProblem } from '../topic-names.ts';

type TopicAnswer = Input<MetadataResponseData>['topics'] extends (infer T)[] | undefined ? T : never;

/**
 * A topic's partitions as Kafka's KRaftMetadataCache answers them: a partition whose leader is not
 * a live (registered, unfenced) broker answers LEADER_NOT_AVAILABLE with leader -1, so clients
 * refresh instead of sending to a broker that is gone; replicas on fenced or unregistered brokers
 * are listed in offlineReplicas.
 */
function describeTopic(topic: TopicView, alive: ReadonlySet<number>): TopicAnswer {
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitions.map((p) => {
      const led = p.leaderId >= 0 && alive.has(p.leaderId);
      return {
        errorCode: led ? 0 : KafkaErrors.LEADER_NOT_AVAILABLE.code,
        partitionIndex: p.partitionIndex,
        leaderId: led ? p.leaderId : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        offlineReplicas: p.replicas.filter((id) => !alive.has(id)),
      };
    }),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function topicError(errorCode: number, name: string | null, topicId = ZERO_UUID): TopicAnswer {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

/**
 * Metadata: brokers, cluster id, controller, and topics (all, or those named by name or,
 * from v10, by id). An unknown topic is created when `auto.create.topics.enable` holds
 * and the request allows it (always before v4), as Kafka does.
 */
export const handler = defineHandler<MetadataRequestData, Input<MetadataResponseData>>({
  apiKey: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  async handle(request, context) {
    const broker = brokerOf(context);
    const version = context.apiVersion;
    const allowAutoCreate = version < 4 || request.allowAutoTopicCreation;
    const topics: TopicAnswer[] = [];
    const alive = (): ReadonlySet<number> =>
      new Set(
        broker
          .metadata()
          .aliveBrokers()
          .map((b) => b.nodeId),
      );
    const all = request.topics === null || (version === 0 && request.topics.length === 0);
    if (all) {
      const aliveIds = alive();
      for (const topic of broker.metadata().topics()) topics.push(describeTopic(topic, aliveIds));
    } else {
      for (const wanted of request.topics ?? []) {
        // From v10 a topic may be named by id alone (name null); the answer's name is
        // nullable only from v12, so older versions get '' where Kafka has no name.
        if (version >= 10 && (wanted.name === null || (wanted.name === '' && wanted.topicId !== ZERO_UUID))) {
          const topic = broker.metadata().topicById(wanted.topicId);
          topics.push(
            topic === undefined
              ? topicError(KafkaErrors.UNKNOWN_TOPIC_ID.code, version >= 12 ? null : '', wanted.topicId)
              : describeTopic(topic, alive()),
          );
          continue;
        }
        const name = wanted.name ?? '';
        let topic = broker.metadata().topic(name);
        if (topic === undefined && topicNameProblem(name) !== null) {
          topics.push(topicError(KafkaErrors.INVALID_TOPIC_EXCEPTION.code, name));
          continue;
        }
        if (topic === undefined && allowAutoCreate) topic = await broker.autoCreate(name);
        topics.push(
          topic === undefined
            ? topicError(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code, name)
            : describeTopic(topic, alive()),
        );
      }
    }
    const image = broker.metadata();
    return {
      throttleTimeMs: 0,
      brokers: image
        .aliveBrokers()
        .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: image.clusterId,
      controllerId: image.controllerId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
