import {
  type Input,
  KafkaErrors,
  type MetadataRequestData,
  type MetadataResponseData,
  ZERO_UUID,
} from '../../protocol/index.ts';
import { brokersOnListener, isLiveBroker, listenerEndpoint } from '../../security/listener-view.ts';
import { defineHandler } from '../handler.ts';
import { AUTHORIZED_OPERATIONS_OMITTED, brokerOf } from '../handler-support.ts';
import type { TopicView } from '../services.ts';
import { topicNameProblem } from '../topic-names.ts';

type TopicAnswer = Input<MetadataResponseData>['topics'] extends (infer T)[] | undefined ? T : never;

/** The brokers as the request's listener sees them. */
interface ListenerBrokers {
  /** Live (registered, unfenced) brokers that have the listener: the others are offline replicas. */
  readonly reachable: ReadonlySet<number>;
  /** Whether a broker is live but has no endpoint on the listener. */
  readonly missingListener: (brokerId: number) => boolean;
  /** LISTENER_NOT_FOUND from v6 (Kafka's errorUnavailableListeners), LEADER_NOT_AVAILABLE before. */
  readonly missingCode: number;
}

/**
 * A topic's partitions as Kafka's KRaftMetadataCache answers them: a partition whose leader is not
 * a live (registered, unfenced) broker answers LEADER_NOT_AVAILABLE with leader -1, so clients
 * refresh instead of sending to a broker that is gone; a live leader without the request's
 * listener answers LISTENER_NOT_FOUND (v6+) with leader -1; replicas on fenced or unregistered
 * brokers, or on brokers without the listener, are listed in offlineReplicas.
 */
function describeTopic(topic: TopicView, brokers: ListenerBrokers): TopicAnswer {
  const { reachable } = brokers;
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitions.map((p) => {
      const led = p.leaderId >= 0 && reachable.has(p.leaderId);
      const missing = !led && p.leaderId >= 0 && brokers.missingListener(p.leaderId);
      return {
        errorCode: led ? 0 : missing ? brokers.missingCode : KafkaErrors.LEADER_NOT_AVAILABLE.code,
        partitionIndex: p.partitionIndex,
        leaderId: led ? p.leaderId : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        offlineReplicas: p.replicas.filter((id) => !reachable.has(id)),
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
    const listenerName = context.connection.listenerName;
    const missingCode =
      version >= 6 ? KafkaErrors.LISTENER_NOT_FOUND.code : KafkaErrors.LEADER_NOT_AVAILABLE.code;
    const alive = (): ListenerBrokers => {
      const image = broker.metadata();
      const { listed } = brokersOnListener(image, image.aliveBrokers(), listenerName);
      return {
        reachable: new Set(listed.map((b) => b.nodeId)),
        missingListener: (id) =>
          isLiveBroker(image, id) && listenerEndpoint(image, id, listenerName) === null,
        missingCode,
      };
    };
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
    // Only the brokers that have the request's listener, each at its endpoint there (Kafka's
    // getAliveBrokerNodes(listenerName)).
    const { listed } = brokersOnListener(image, image.aliveBrokers(), listenerName);
    return {
      throttleTimeMs: 0,
      brokers: listed.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: image.clusterId,
      controllerId: image.controllerId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
