import {
  type AlterConfigsRequestData,
  type AlterConfigsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { BROKER_CONFIG_BY_NAME } from '../config.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

/** AlterConfigs: replaces a resource's whole set of overrides (configs left out go back to their defaults). */
export const handler = defineHandler<AlterConfigsRequestData, Input<AlterConfigsResponseData>>({
  apiKey: 33,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const broker = brokerOf(context);
    const responses = request.resources.map((resource) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const changes = new Map<string, string | null>();
      if (resource.resourceType === ConfigResourceType.topic) {
        const topic = broker.metadata().topic(resource.resourceName);
        for (const name of topic?.configs.keys() ?? []) changes.set(name, null);
        for (const config of resource.configs) changes.set(config.name, config.value);
        const result = broker.alterTopicConfigs(resource.resourceName, changes, request.validateOnly);
        return { ...base, ...result };
      }
      if (resource.resourceType === ConfigResourceType.broker) {
        for (const [name] of broker.config.dynamicOverrides()) changes.set(name, null);
        for (const config of resource.configs) changes.set(config.name, config.value);
        const result = broker.alterBrokerConfigs(
          resource.resourceName,
          changes,
          request.validateOnly,
          BROKER_CONFIG_BY_NAME,
        );
        return { ...base, ...result };
      }
      return {
        ...base,
        errorCode: KafkaErrors.INVALID_REQUEST.code,
        errorMessage: `Unsupported resource type ${resource.resourceType}`,
      };
    });
    return { throttleTimeMs: 0, responses };
  },
});
