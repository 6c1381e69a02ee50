import { alterGroupConfigs } from '../../coordinator/group-config-handlers.ts';
import {
  type IncrementalAlterConfigsRequestData,
  type IncrementalAlterConfigsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { BROKER_CONFIG_BY_NAME, ConfigType, TOPIC_CONFIG_BY_NAME } from '../config.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { ConfigResourceType } from '../metadata-image.ts';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
const OPERATION_NAMES = ['set', 'delete', 'append', 'subtract'];

type Answer = { errorCode: number; errorMessage: string | null };

function items(list: string | null | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT (list configs) per config, with
 * Kafka's checks and answers: a key given twice, a SET without a value or an unknown
 * operation is INVALID_REQUEST; APPEND/SUBTRACT on a config that is not a list is
 * INVALID_CONFIG. APPEND/SUBTRACT start from the resource's own value, else the default.
 */
export const handler = defineHandler<
  IncrementalAlterConfigsRequestData,
  Input<IncrementalAlterConfigsResponseData>
>({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<IncrementalAlterConfigsResponseData>>(
      context,
      request,
    );
    if (forwarded !== undefined) return forwarded;
    const responses = [];
    for (const resource of request.resources) responses.push(await alter(resource));
    return { throttleTimeMs: 0, responses };

    async function alter(resource: IncrementalAlterConfigsRequestData['resources'][number]) {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const isTopic = resource.resourceType === ConfigResourceType.topic;
      const fail = (errorCode: number, errorMessage: string | null) => ({ ...base, errorCode, errorMessage });
      if (resource.resourceType === ConfigResourceType.group) {
        return { ...base, ...(await alterGroupConfigs(broker, resource, request.validateOnly)) };
      }
      if (!isTopic && resource.resourceType !== ConfigResourceType.broker) {
        return fail(KafkaErrors.INVALID_REQUEST.code, `Unsupported resource type ${resource.resourceType}`);
      }
      const names = resource.configs.map((c) => c.name);
      if (new Set(names).size !== names.length) {
        return fail(KafkaErrors.INVALID_REQUEST.code, 'Error due to duplicate config keys');
      }
      // The layer as committed (the image), which is also another broker's when forwarded here.
      const own = (name: string): string | null | undefined =>
        isTopic
          ? broker.metadata().topic(resource.resourceName)?.configs.get(name)
          : broker
              .metadata()
              .brokerConfigs.get(resource.resourceName === '' ? '' : String(Number(resource.resourceName)))
              ?.get(name);
      const changes = new Map<string, string | null>();
      for (const config of resource.configs) {
        const definition = isTopic
          ? TOPIC_CONFIG_BY_NAME.get(config.name)
          : BROKER_CONFIG_BY_NAME.get(config.name);
        const operation = config.configOperation;
        if (operation === SET) {
          if (config.value === null) {
            return fail(KafkaErrors.INVALID_REQUEST.code, `Null value not supported for : ${config.name}`);
          }
          changes.set(config.name, config.value);
        } else if (operation === DELETE) {
          changes.set(config.name, null);
        } else if (operation === APPEND || operation === SUBTRACT) {
          if (definition === undefined) {
            // Kafka fails on it internally (UNKNOWN_SERVER_ERROR); kstack says why.
            return fail(
              KafkaErrors.UNKNOWN_SERVER_ERROR.code,
              `${OPERATION_NAMES[operation]} needs a list config; ${config.name} is not a config kstack knows`,
            );
          }
          if (definition.type !== ConfigType.list) {
            return fail(
              KafkaErrors.INVALID_CONFIG.code,
              `Config value ${OPERATION_NAMES[operation]} is not allowed for config key: ${config.name}`,
            );
          }
          const current = items(own(config.name) ?? definition.defaultValue);
          const given = items(config.value);
          const next =
            operation === APPEND
              ? [...current, ...given.filter((g) => !current.includes(g))]
              : current.filter((i) => !given.includes(i));
          changes.set(config.name, next.join(','));
        } else if (isTopic) {
          // Kafka answers UNKNOWN_SERVER_ERROR here (and INVALID_REQUEST on the broker resource).
          return fail(KafkaErrors.UNKNOWN_SERVER_ERROR.code, `Unknown operations type ${operation}`);
        } else {
          return fail(KafkaErrors.INVALID_REQUEST.code, `Unknown operations type ${operation}`);
        }
      }
      const result: Answer = isTopic
        ? await broker.alterTopicConfigs(resource.resourceName, changes, request.validateOnly)
        : await broker.alterBrokerConfigs(
            resource.resourceName,
            changes,
            request.validateOnly,
            broker.receivingNodeId(context),
          );
      return { ...base, ...result };
    }
  },
});
