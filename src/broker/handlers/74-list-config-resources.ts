/**
 * ListConfigResources 0-1 (KIP-1142; ListClientMetricsResources before it): the config resources of
 * the types asked for (all when none are named), as Kafka 4.1.1's KafkaApis lists them: groups with
 * config overrides (KIP-848's GROUP resource), client metrics subscriptions (kstack keeps none),
 * broker loggers and brokers (every registered broker id), then every topic by name. A type it cannot
 * list is UNSUPPORTED_VERSION for the whole request; version 0 lists client metrics only. Kafka's
 * `kafka-configs --entity-type groups --describe` asks it before describing any group.
 */
import {
  type Input,
  KafkaErrors,
  type ListConfigResourcesRequestData,
  type ListConfigResourcesResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

const {
  group: GROUP,
  clientMetrics: CLIENT_METRICS,
  brokerLogger: BROKER_LOGGER,
  broker: BROKER,
  topic: TOPIC,
} = ConfigResourceType;
/** The types listed, in the order Kafka 4.1.1 answers an empty request. */
const LISTED_TYPES: readonly number[] = [GROUP, CLIENT_METRICS, BROKER_LOGGER, BROKER, TOPIC];

export const handler = defineHandler<ListConfigResourcesRequestData, Input<ListConfigResourcesResponseData>>({
  apiKey: 74,
  name: 'ListConfigResources',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const supported = context.apiVersion === 0 ? [CLIENT_METRICS] : LISTED_TYPES;
    const asked = request.resourceTypes.length === 0 ? supported : request.resourceTypes;
    if (asked.some((type) => !supported.includes(type))) {
      return { throttleTimeMs: 0, errorCode: KafkaErrors.UNSUPPORTED_VERSION.code, configResources: [] };
    }
    const broker = brokerOf(context);
    const image = broker.metadata();
    const namesOf = (type: number): string[] => {
      switch (type) {
        case GROUP:
          return [...image.groupConfigs.keys()];
        case BROKER_LOGGER:
        case BROKER:
          return image
            .brokers()
            .map((b) => b.nodeId)
            .sort((a, b) => a - b)
            .map(String);
        case TOPIC:
          return [...image.topics()].map((t) => t.name).sort();
        default:
          return []; // client metrics: kstack serves no KIP-714 subscriptions
      }
    };
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      configResources: LISTED_TYPES.filter((type) => asked.includes(type)).flatMap((type) =>
        namesOf(type).map((resourceName) => ({ resourceName, resourceType: type })),
      ),
    };
  },
});
