/**
 * Test helper for the compression tests: a raw Kafka connection that speaks through our
 * own protocol codecs (src/protocol), so a test sees the stored batch bytes exactly as a
 * broker (kstack or the reference) returns them in a Fetch.
 */
import net from 'node:net';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';

export type Body = Record<string, unknown>;

/** One partition's Produce answer (v8+ carries per-record errors). */
export interface ProduceAnswer {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

export class WireClient {
  readonly #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #correlationId = 0;
  readonly #pending = new Map<number, { apiKey: number; version: number; resolve: (b: Body) => void }>();
  readonly #order: number[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (this.#buffer.length < 4 + size) break;
      const frame = this.#buffer.subarray(4, 4 + size);
      this.#buffer = this.#buffer.subarray(4 + size);
      const id = this.#order.shift();
      const waiter = id === undefined ? undefined : this.#pending.get(id);
      if (id === undefined || waiter === undefined) throw new Error('response without a request');
      this.#pending.delete(id);
      const decoded = decodeResponse(waiter.apiKey, waiter.version, frame);
      if (decoded.correlationId !== id) throw new Error(`correlation ${decoded.correlationId} !== ${id}`);
      waiter.resolve(decoded.body as Body);
    }
  }

  /** Sends one request and resolves with the decoded response body. */
  call<T = Body>(apiKey: number, version: number, body: Body, timeoutMs = 30_000): Promise<T> {
    const id = ++this.#correlationId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`api ${apiKey} v${version}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#pending.set(id, {
        apiKey,
        version,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b as T);
        },
      });
      this.#order.push(id);
      this.#socket.write(
        encodeRequest(
          { requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 'compression' },
          body,
        ),
      );
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  async createTopic(
    name: string,
    configs: Record<string, string> = {},
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    const answer = await this.call<{ topics: { errorCode: number; errorMessage: string | null }[] }>(19, 5, {
      topics: [
        {
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    return answer.topics[0]!;
  }

  /** Produce v9 of one batch to partition 0; the partition's answer. */
  async produce(topic: string, records: Uint8Array, acks = -1): Promise<ProduceAnswer> {
    const answer = await this.call<{ responses: { partitionResponses: ProduceAnswer[] }[] }>(0, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    return answer.responses[0]!.partitionResponses[0]!;
  }

  /** Fetch v11 from partition 0 at `offset`: the raw records bytes (null when none). */
  async fetchRaw(
    topic: string,
    offset: bigint,
    maxBytes = 8 << 20,
  ): Promise<{ errorCode: number; records: Uint8Array | null; highWatermark: bigint }> {
    const answer = await this.call<{
      responses: { partitions: { errorCode: number; records: Uint8Array | null; highWatermark: bigint }[] }[];
    }>(1, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              logStartOffset: -1n,
              partitionMaxBytes: maxBytes,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    return answer.responses[0]!.partitions[0]!;
  }

  async initProducerId(): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    return this.call(22, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
  }

  /** DescribeConfigs v4 of one topic (or broker, resourceType 4): name → value, source, type. */
  async describeConfigs(
    resourceType: number,
    resourceName: string,
    keys: string[] | null,
  ): Promise<{
    errorCode: number;
    configs: {
      name: string;
      value: string | null;
      configSource: number;
      configType: number;
      readOnly: boolean;
    }[];
  }> {
    const answer = await this.call<{
      results: {
        errorCode: number;
        configs: {
          name: string;
          value: string | null;
          configSource: number;
          configType: number;
          readOnly: boolean;
        }[];
      }[];
    }>(32, 4, {
      resources: [{ resourceType, resourceName, configurationKeys: keys }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    return answer.results[0]!;
  }

  /** IncrementalAlterConfigs v1 (operation 0 = SET, 1 = DELETE) of one resource. */
  async alterConfigs(
    resourceType: number,
    resourceName: string,
    changes: Record<string, string | null>,
    validateOnly = false,
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    const answer = await this.call<{ responses: { errorCode: number; errorMessage: string | null }[] }>(
      44,
      1,
      {
        resources: [
          {
            resourceType,
            resourceName,
            configs: Object.entries(changes).map(([name, value]) => ({
              name,
              configOperation: value === null ? 1 : 0,
              value,
            })),
          },
        ],
        validateOnly,
      },
    );
    return answer.responses[0]!;
  }
}
