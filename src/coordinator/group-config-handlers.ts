/**
 * The GROUP config resource (type 32) in DescribeConfigs (32) and IncrementalAlterConfigs (44), as
 * Apache Kafka 4.1.1 answers them (asked on the wire): the handlers in src/broker/handlers/ call
 * these for a group resource; the values and checks are `group-configs.ts`'s.
 */
import type { Broker } from '../broker/broker.ts';
import type { ConfigEntry } from '../broker/config-describer.ts';
import { KafkaErrors } from '../protocol/index.ts';
import {
  type BrokerSetting,
  describeGroupConfigs,
  groupConfigProblem,
  listOperationProblem,
} from './group-configs.ts';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

/** The broker's own value of a `group.*` setting, when its config defines it. */
export function brokerSetting(broker: Broker): BrokerSetting {
  return (name) => {
    try {
      const value = broker.config.getNumber(name);
      return Number.isFinite(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
}

interface AlterResource {
  readonly resourceName: string;
  readonly configs: readonly { name: string; configOperation: number; value: string | null }[];
}

/** IncrementalAlterConfigs of one group: Kafka's checks, then the ConfigRecords, answered once committed. */
export async function alterGroupConfigs(
  broker: Broker,
  resource: AlterResource,
  validateOnly: boolean,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const fail = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage });
  if (resource.resourceName === '') {
    return fail(KafkaErrors.INVALID_REQUEST.code, 'Default group resources are not allowed.');
  }
  const names = resource.configs.map((c) => c.name);
  if (new Set(names).size !== names.length) {
    return fail(KafkaErrors.INVALID_REQUEST.code, 'Error due to duplicate config keys');
  }
  const setting = brokerSetting(broker);
  const changes = new Map<string, string | null>();
  for (const config of resource.configs) {
    switch (config.configOperation) {
      case SET: {
        if (config.value === null) {
          return fail(KafkaErrors.INVALID_REQUEST.code, `Null value not supported for : ${config.name}`);
        }
        const problem = groupConfigProblem(config.name, config.value, setting);
        if (problem !== null) return fail(KafkaErrors.INVALID_CONFIG.code, problem);
        changes.set(config.name, config.value);
        break;
      }
      case DELETE:
        changes.set(config.name, null);
        break;
      case APPEND:
      case SUBTRACT:
        return fail(
          KafkaErrors.INVALID_CONFIG.code,
          listOperationProblem(config.name, config.configOperation === APPEND ? 'APPEND' : 'SUBTRACT'),
        );
      default:
        // Kafka fails on it inside the controller: UNKNOWN_SERVER_ERROR with no message.
        return fail(KafkaErrors.UNKNOWN_SERVER_ERROR.code, null);
    }
  }
  return broker.alterGroupConfigs(resource.resourceName, changes, validateOnly);
}

interface DescribeResource {
  readonly resourceName: string;
  readonly configurationKeys: readonly string[] | null;
}

/** DescribeConfigs of one group: every group config's value in force for it. */
export function describeGroupResource(
  broker: Broker,
  resource: DescribeResource,
  request: { readonly includeSynonyms: boolean; readonly includeDocumentation: boolean },
): { errorCode: number; errorMessage: string; configs: ConfigEntry[] } {
  if (resource.resourceName === '') {
    return {
      errorCode: KafkaErrors.INVALID_REQUEST.code,
      errorMessage: 'Group name must not be empty',
      configs: [],
    };
  }
  return {
    errorCode: 0,
    errorMessage: '',
    configs: describeGroupConfigs(
      broker.metadata().groupConfigs.get(resource.resourceName),
      resource.configurationKeys,
      request.includeSynonyms,
      request.includeDocumentation,
      brokerSetting(broker),
    ),
  };
}
