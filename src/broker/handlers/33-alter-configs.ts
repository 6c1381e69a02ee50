import {
  type AlterConfigsRequestData,
  type AlterConfigsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

/**
 * AlterConfigs: replaces a resource's whole set of dynamic configs (configs left out fall
 * back to the next layer). On the broker resource, '' replaces the cluster defaults and the
 * node id this broker's own layer, each apart from the other, as in Kafka.
 */
export const handler = defineHandler<AlterConfigsRequestData, Input<AlterConfigsResponseData>>({
  apiKey: 33,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<AlterConfigsResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
    const responses = [];
    for (const resource of request.resources) responses.push(await alter(resource));
    return { throttleTimeMs: 0, responses };

    async function alter(resource: AlterConfigsRequestData['resources'][number]) {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const changes = new Map<string, string | null>();
      if (resource.resourceType === ConfigResourceType.topic) {
        const topic = broker.metadata().topic(resource.resourceName);
        for (const name of topic?.configs.keys() ?? []) changes.set(name, null);
        for (const config of resource.configs) changes.set(config.name, config.value);
        const result = await broker.alterTopicConfigs(resource.resourceName, changes, request.validateOnly);
        return { ...base, ...result };
      }
      if (resource.resourceType === ConfigResourceType.broker) {
        const nullValue = resource.configs.find((config) => config.value === null);
        if (nullValue !== undefined) {
          return {
            ...base,
            errorCode: KafkaErrors.INVALID_REQUEST.code,
            errorMessage: `Null value not supported for : ${nullValue.name}`,
          };
        }
        // The layer as committed (the image), which is also another broker's when forwarded here.
        const layer = resource.resourceName === '' ? '' : String(Number(resource.resourceName));
        for (const name of broker.metadata().brokerConfigs.get(layer)?.keys() ?? []) changes.set(name, null);
        for (const config of resource.configs) changes.set(config.name, config.value);
        const result = await broker.alterBrokerConfigs(
          resource.resourceName,
          changes,
          request.validateOnly,
          broker.receivingNodeId(context),
        );
        return { ...base, ...result };
      }
      return {
        ...base,
        errorCode: KafkaErrors.INVALID_REQUEST.code,
        errorMessage: `Unsupported resource type ${resource.resourceType}`,
      };
    }
  },
});
