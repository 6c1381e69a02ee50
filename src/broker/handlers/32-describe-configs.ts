import { describeGroupResource } from '../../coordinator/group-config-handlers.ts';
import {
  type DescribeConfigsRequestData,
  type DescribeConfigsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { describeBrokerConfigs, describeTopicConfigs } from '../config-describer.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

/**
 * DescribeConfigs for topic, broker and group (KIP-848, src/coordinator/group-configs.ts)
 * resources: value in force, source, synonyms, type, documentation. Kafka answers a resource it described with the error message '' (not null).
 */
export const handler = defineHandler<DescribeConfigsRequestData, Input<DescribeConfigsResponseData>>({
  apiKey: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const broker = brokerOf(context);
    const results = request.resources.map((resource) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const fail = (errorCode: number, errorMessage: string) => ({
        ...base,
        errorCode,
        errorMessage,
        configs: [],
      });
      if (resource.resourceType === ConfigResourceType.topic) {
        const topic = broker.metadata().topic(resource.resourceName);
        if (topic === undefined) {
          return fail(
            KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
            `Topic ${resource.resourceName} does not exist.`,
          );
        }
        return {
          ...base,
          errorCode: 0,
          errorMessage: '',
          configs: describeTopicConfigs(
            broker,
            topic,
            resource.configurationKeys,
            request.includeSynonyms,
            request.includeDocumentation,
          ),
        };
      }
      if (resource.resourceType === ConfigResourceType.broker) {
        const name = resource.resourceName;
        if (name !== '' && !/^[-+]?\d+$/.test(name)) {
          return fail(KafkaErrors.INVALID_REQUEST.code, `Broker id must be an integer, but it is: ${name}`);
        }
        if (name !== '' && Number(name) !== broker.nodeId) {
          return fail(
            KafkaErrors.INVALID_REQUEST.code,
            `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${name}`,
          );
        }
        return {
          ...base,
          errorCode: 0,
          errorMessage: '',
          configs: describeBrokerConfigs(
            broker,
            name,
            resource.configurationKeys,
            request.includeSynonyms,
            request.includeDocumentation,
          ),
        };
      }
      if (resource.resourceType === ConfigResourceType.group) {
        return { ...base, ...describeGroupResource(broker, resource, request) };
      }
      return fail(KafkaErrors.INVALID_REQUEST.code, `Unsupported resource type ${resource.resourceType}`);
    });
    return { throttleTimeMs: 0, results };
  },
});
