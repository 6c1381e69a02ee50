/**
 * Test helper for the broker-config tests: DescribeConfigs (with synonyms and
 * documentation), AlterConfigs and IncrementalAlterConfigs of any resource, sent through
 * our own protocol codecs (src/protocol) over the raw `WireClient` of the compression tests.
 */
import { WireClient } from './compression-wire.ts';

export const BROKER = 4;
export const TOPIC = 2;
/** IncrementalAlterConfigs' config operations. */
export const Op = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

export interface Synonym {
  name: string;
  value: string | null;
  source: number;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Synonym[];
  configType: number;
  documentation: string | null;
}

export interface DescribedResource {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
  configs: DescribedConfig[];
}

export interface AlterAnswer {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

export class ConfigClient {
  readonly wire: WireClient;

  private constructor(wire: WireClient) {
    this.wire = wire;
  }

  static async connect(port: number): Promise<ConfigClient> {
    return new ConfigClient(await WireClient.connect(port));
  }

  close(): void {
    this.wire.close();
  }

  /** DescribeConfigs v4 of one resource. */
  async describe(
    resourceType: number,
    resourceName: string,
    keys: string[] | null = null,
    includeSynonyms = false,
    includeDocumentation = false,
  ): Promise<DescribedResource> {
    const answer = await this.wire.call<{ results: DescribedResource[] }>(32, 4, {
      resources: [{ resourceType, resourceName, configurationKeys: keys }],
      includeSynonyms,
      includeDocumentation,
    });
    return answer.results[0]!;
  }

  /** One config of a DescribeConfigs v4 answer (undefined when the answer lists none). */
  async describeOne(
    resourceType: number,
    resourceName: string,
    name: string,
    includeSynonyms = false,
  ): Promise<DescribedConfig | undefined> {
    const result = await this.describe(resourceType, resourceName, [name], includeSynonyms);
    if (result.errorCode !== 0)
      throw new Error(`describe ${name}: ${result.errorCode} ${result.errorMessage}`);
    return result.configs.find((c) => c.name === name);
  }

  /** IncrementalAlterConfigs v1 of one resource: [name, operation, value] triples. */
  async incremental(
    resourceType: number,
    resourceName: string,
    changes: readonly (readonly [string, number, string | null])[],
    validateOnly = false,
  ): Promise<AlterAnswer> {
    const answer = await this.wire.call<{ responses: AlterAnswer[] }>(44, 1, {
      resources: [
        {
          resourceType,
          resourceName,
          configs: changes.map(([name, configOperation, value]) => ({ name, configOperation, value })),
        },
      ],
      validateOnly,
    });
    return answer.responses[0]!;
  }

  /** SET (a value) or DELETE (null) each config, through IncrementalAlterConfigs v1. */
  async set(
    resourceType: number,
    resourceName: string,
    values: Record<string, string | null>,
    validateOnly = false,
  ): Promise<AlterAnswer> {
    return this.incremental(
      resourceType,
      resourceName,
      Object.entries(values).map(([name, value]) => [name, value === null ? Op.delete : Op.set, value]),
      validateOnly,
    );
  }

  /** The legacy AlterConfigs v2 of one resource: replaces the whole set of dynamic configs. */
  async alterLegacy(
    resourceType: number,
    resourceName: string,
    values: Record<string, string | null>,
    validateOnly = false,
  ): Promise<AlterAnswer> {
    const answer = await this.wire.call<{ responses: AlterAnswer[] }>(33, 2, {
      resources: [
        {
          resourceType,
          resourceName,
          configs: Object.entries(values).map(([name, value]) => ({ name, value })),
        },
      ],
      validateOnly,
    });
    return answer.responses[0]!;
  }
}
