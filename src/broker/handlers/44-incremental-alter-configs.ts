import {
  type IncrementalAlterConfigsRequestData,
  type IncrementalAlterConfigsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { BROKER_CONFIG_BY_NAME, TOPIC_CONFIG_BY_NAME } from '../config.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

/** IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT (list configs) per config. */
export const handler = defineHandler<
  IncrementalAlterConfigsRequestData,
  Input<IncrementalAlterConfigsResponseData>
>({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const broker = brokerOf(context);
    const responses = request.resources.map((resource) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const isTopic = resource.resourceType === ConfigResourceType.topic;
      if (!isTopic && resource.resourceType !== ConfigResourceType.broker) {
        return {
          ...base,
          errorCode: KafkaErrors.INVALID_REQUEST.code,
          errorMessage: `Unsupported resource type ${resource.resourceType}`,
        };
      }
      const current = (name: string): string =>
        (isTopic
          ? broker.config.topicValue(
              name,
              broker.metadata().topic(resource.resourceName)?.configs ?? new Map(),
            ).value
          : broker.config.lookup(name)?.value) ?? '';
      const changes = new Map<string, string | null>();
      for (const config of resource.configs) {
        const definition = isTopic
          ? TOPIC_CONFIG_BY_NAME.get(config.name)
          : BROKER_CONFIG_BY_NAME.get(config.name);
        if (config.configOperation === SET) changes.set(config.name, config.value);
        else if (config.configOperation === DELETE) changes.set(config.name, null);
        else if (config.configOperation === APPEND || config.configOperation === SUBTRACT) {
          if (definition?.type !== 7) {
            return {
              ...base,
              errorCode: KafkaErrors.INVALID_CONFIG.code,
              errorMessage: `Config ${config.name} is not a list: APPEND and SUBTRACT apply only to lists`,
            };
          }
          const items = current(config.name)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
          const given = (config.value ?? '')
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
          const next =
            config.configOperation === APPEND
              ? [...items, ...given.filter((g) => !items.includes(g))]
              : items.filter((i) => !given.includes(i));
          changes.set(config.name, next.join(','));
        } else {
          return {
            ...base,
            errorCode: KafkaErrors.INVALID_REQUEST.code,
            errorMessage: `Unknown config operation ${config.configOperation}`,
          };
        }
      }
      const result = isTopic
        ? broker.alterTopicConfigs(resource.resourceName, changes, request.validateOnly)
        : broker.alterBrokerConfigs(
            resource.resourceName,
            changes,
            request.validateOnly,
            BROKER_CONFIG_BY_NAME,
          );
      return { ...base, ...result };
    });
    return { throttleTimeMs: 0, responses };
  },
});
