/**
 * One fuzzing session against a running broker: per-connection workers that send generated and
 * mutated requests and check every answer, a canary that must keep getting correct answers, and the
 * counts printed at the end. The first broken expectation stops everything and is kept as a `Failure`.
 */
import {
  type ApiVersionsResponseData,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  getApi,
  type MetadataResponseData,
  type ProduceResponseData,
  ZERO_UUID,
} from '../src/protocol/index.ts';
import { type GeneratedRequest, generateRequest, type Pools } from './generate.ts';
import { knownBugOf } from './known-bugs.ts';
import { type Mutation, mutate } from './mutate.ts';
import { iterationPrng } from './prng.ts';
import { WireConnection } from './wire.ts';

export type VersionRanges = ReadonlyMap<number, { min: number; max: number }>;

export interface SessionOptions {
  readonly host: string;
  readonly port: number;
  readonly seed: number;
  readonly connections: number;
  /** Requests sent and not yet answered, per connection. */
  readonly inFlightMax: number;
  /** Share of iterations whose request is mutated, 0..1. */
  readonly mutationShare: number;
  /** Every answer (or close) is due within this. */
  readonly responseTimeoutMs: number;
  readonly canaryBoundMs: number;
  /** The session stops once this many bytes were sent in all. */
  readonly bytesMax: number;
  readonly deadline: number;
  /** Replay: run only these iterations (on connection 0). */
  readonly onlyIterations?: readonly number[];
  /** Skip iterations whose valid request triggers a known, still open broker bug (fuzz/known-bugs.ts). */
  readonly skipKnown?: boolean;
}

export interface Failure {
  readonly iteration: number;
  readonly what: string;
  readonly request: Uint8Array | null;
}

/** Correlation ids of probes and canary requests: above every iteration's, so never confused. */
const PROBE_CORRELATION_BASE = 0x40000000;
const CANARY_CORRELATION_BASE = 0x60000000;
const CANARY_PERIOD_MS = 200;
/** After a missed canary bound, how much longer we wait to tell slow from stalled. */
const CANARY_STALL_MS = 30_000;
const PRODUCE_SHARE = 0.15;
const RECENT_MAX = 12;
const FETCH_SHARE = 0.08;
const CONNECT_TIMEOUT_MS = 5_000;

export class Session {
  readonly counts = new Map<string, number>();
  readonly apiCounts = new Map<string, number>();
  /** The slowest answer seen per API name, in ms (valid, pipelined requests). */
  readonly apiLatencyMsMax = new Map<string, number>();
  failure: Failure | null = null;
  /** The last requests sent (iteration, kind, API), for failures no single request explains. */
  readonly recent: string[] = [];
  canaryRounds = 0;
  canaryLatencyMsMax = 0;
  bytesSent = 0;
  /** Requests sent (skipped iterations are not counted). */
  iterations = 0;
  readonly #options: SessionOptions;
  readonly #pools: Pools;
  readonly #advertised: VersionRanges;
  readonly #pairs: { apiKey: number; version: number }[] = [];
  readonly #expectedApiVersions: string;
  readonly #protected: { topic: string; partitions: number };
  #stopped = false;

  constructor(
    options: SessionOptions,
    pools: Pools,
    advertised: VersionRanges,
    protectedTopic: { topic: string; partitions: number },
  ) {
    this.#options = options;
    this.#pools = pools;
    this.#advertised = advertised;
    this.#protected = protectedTopic;
    for (const [apiKey, range] of advertised) {
      if (getApi(apiKey) === undefined) continue;
      for (let version = range.min; version <= range.max; version++) this.#pairs.push({ apiKey, version });
    }
    this.#expectedApiVersions = describeRanges(advertised);
  }

  get stopped(): boolean {
    return this.#stopped || this.failure !== null || Date.now() > this.#options.deadline;
  }

  fail(failure: Failure): void {
    if (this.failure === null) this.failure = failure;
    this.#stopped = true;
  }

  /** Why the session ended early (the byte bound), if it did. */
  stopReason: string | null = null;

  stop(reason: string): void {
    this.stopReason ??= reason;
    this.#stopped = true;
  }

  count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** Builds iteration `iteration`: a valid request and, for a share of them, its mutation. */
  async build(iteration: number): Promise<{ request: GeneratedRequest; mutation: Mutation | null }> {
    const prng = iterationPrng(this.#options.seed, iteration);
    // Produce and Fetch carry record batches and reach storage: they get a larger share than the rest.
    const roll = prng.float();
    const wanted = roll < PRODUCE_SHARE ? 0 : roll < PRODUCE_SHARE + FETCH_SHARE ? 1 : null;
    const choices = wanted === null ? this.#pairs : this.#pairs.filter((p) => p.apiKey === wanted);
    const { apiKey, version } = prng.pick(choices.length > 0 ? choices : this.#pairs);
    const request = await generateRequest(prng, apiKey, version, iteration & 0x3fffffff, this.#pools);
    const mutation = prng.chance(this.#options.mutationShare)
      ? mutate(prng, request.bytes, this.#advertised)
      : null;
    return { request, mutation };
  }

  async run(): Promise<void> {
    const canary = this.#canary();
    const workers: Promise<void>[] = [];
    const only = this.#options.onlyIterations;
    if (only !== undefined) workers.push(this.#worker(0, only[Symbol.iterator]()));
    else
      for (let c = 0; c < this.#options.connections; c++)
        workers.push(this.#worker(c, strided(c, this.#options.connections)));
    await Promise.all(workers);
    this.#stopped = true;
    await canary;
  }

  async #open(): Promise<WireConnection> {
    return WireConnection.open(this.#options.host, this.#options.port, CONNECT_TIMEOUT_MS);
  }

  async #worker(index: number, iterations: Iterator<number>): Promise<void> {
    let connection: WireConnection;
    try {
      connection = await this.#open();
    } catch (error) {
      this.fail({
        iteration: -1,
        what: `connection ${index}: cannot connect: ${(error as Error).message}`,
        request: null,
      });
      return;
    }
    const pending: { iteration: number; request: GeneratedRequest; sentAt: number }[] = [];
    const receiveOne = async (): Promise<boolean> => {
      const head = pending.shift()!;
      const outcome = await connection.next(this.#options.responseTimeoutMs - (Date.now() - head.sentAt));
      const name = `${getApi(head.request.apiKey)?.name} v${head.request.apiVersion}`;
      const failWith = (what: string): false => {
        this.fail({
          iteration: head.iteration,
          what: `${name} (valid request): ${what}`,
          request: head.request.bytes,
        });
        return false;
      };
      if ('timeout' in outcome) return failWith(`no response within ${this.#options.responseTimeoutMs} ms`);
      if ('closed' in outcome) return failWith('the broker closed the connection');
      if ('badFrame' in outcome) return failWith(outcome.badFrame);
      try {
        const { correlationId, body } = decodeResponse(
          head.request.apiKey,
          head.request.apiVersion,
          outcome.frame,
        );
        const accepted = acceptedCorruptPartition(head.request, body);
        if (accepted !== null)
          return failWith(`a corrupted batch (${head.request.batchMutation}) was accepted: ${accepted}`);
        if (correlationId !== head.request.correlationId)
          return failWith(`response correlation id ${correlationId}, expected ${head.request.correlationId}`);
        const api = getApi(head.request.apiKey)?.name ?? '';
        const latencyMs = Date.now() - head.sentAt;
        if (latencyMs > (this.apiLatencyMsMax.get(api) ?? 0)) this.apiLatencyMsMax.set(api, latencyMs);
      } catch (error) {
        return failWith(
          `response does not decode: ${(error as Error).message}; response ${hex(outcome.frame, 256)}`,
        );
      }
      return true;
    };
    const drain = async (): Promise<boolean> => {
      while (pending.length > 0) if (!(await receiveOne())) return false;
      return true;
    };

    for (let next = iterations.next(); !next.done && !this.stopped; next = iterations.next()) {
      const iteration = next.value;
      if (this.bytesSent >= this.#options.bytesMax) {
        this.stop(`the byte bound (${this.#options.bytesMax} bytes sent)`);
        break;
      }
      const { request, mutation } = await this.build(iteration);
      if (this.#options.skipKnown === true) {
        const bug = knownBugOf(request.bytes) ?? (mutation === null ? null : knownBugOf(mutation.bytes));
        if (bug !== null) {
          this.count(`skipped (known ${bug.id})`);
          continue;
        }
      }
      const apiName = getApi(request.apiKey)?.name ?? String(request.apiKey);
      this.apiCounts.set(apiName, (this.apiCounts.get(apiName) ?? 0) + 1);
      this.iterations++;
      if (mutation === null && request.expectsResponse) {
        this.count(request.batchMutation === null ? 'valid' : `valid, batch ${request.batchMutation}`);
        while (pending.length >= this.#options.inFlightMax)
          if (!(await receiveOne())) return connection.destroy();
        this.#send(connection, request.bytes, `#${iteration} valid ${apiName} v${request.apiVersion}`);
        pending.push({ iteration, request, sentAt: Date.now() });
        continue;
      }
      if (!(await drain())) return connection.destroy();
      const kept = await this.#sendAndProbe(connection, iteration, request, mutation);
      if (kept) continue;
      connection.destroy();
      if (this.stopped) return;
      try {
        connection = await this.#open();
      } catch (error) {
        this.fail({
          iteration,
          what: `reconnecting after a closed connection: ${(error as Error).message}`,
          request: null,
        });
        return;
      }
    }
    await drain();
    connection.destroy();
  }

  #send(connection: WireConnection, bytes: Uint8Array, label?: string): void {
    connection.send(bytes);
    this.bytesSent += bytes.length;
    if (label !== undefined) {
      this.recent.push(`${label} (${bytes.length} bytes)`);
      if (this.recent.length > RECENT_MAX) this.recent.shift();
    }
  }

  /**
   * Sends a request that may get no answer (acks=0) or a mutated one, then a probe behind it; checks
   * what the broker owes for its framing. Returns whether the connection is still usable.
   */
  async #sendAndProbe(
    connection: WireConnection,
    iteration: number,
    request: GeneratedRequest,
    mutation: Mutation | null,
  ): Promise<boolean> {
    const bytes = mutation?.bytes ?? request.bytes;
    const kind = mutation === null ? 'valid, acks=0' : mutation.kind;
    this.count(kind);
    const timeoutMs = this.#options.responseTimeoutMs;
    const failWith = (what: string): false => {
      this.fail({
        iteration,
        what: `${kind} of ${getApi(request.apiKey)?.name} v${request.apiVersion}: ${what}`,
        request: bytes,
      });
      return false;
    };
    const apiName = getApi(request.apiKey)?.name;
    this.#send(connection, bytes, `#${iteration} ${kind} of ${apiName} v${request.apiVersion}`);
    const framing = mutation?.framing ?? 'kept';
    if (framing !== 'kept') {
      if (framing === 'open') connection.end();
      for (;;) {
        const outcome = await connection.next(timeoutMs);
        if ('closed' in outcome) return !this.#outcome(kind, 'closed');
        if ('timeout' in outcome)
          return failWith(`the broker neither answered nor closed within ${timeoutMs} ms`);
        if ('badFrame' in outcome) return failWith(outcome.badFrame);
        if (framing === 'refused') return failWith('the broker answered a frame it should refuse');
      }
    }
    // A mutation may have set the request's correlation id to the probe's: then the probe takes another.
    let probeId = PROBE_CORRELATION_BASE + (iteration & 0xfffffff);
    if (bytes.length >= 12 && new DataView(bytes.buffer, bytes.byteOffset).getInt32(8) === probeId)
      probeId ^= 1;
    this.#send(
      connection,
      encodeRequest(
        { requestApiKey: 18, requestApiVersion: 0, correlationId: probeId, clientId: 'kstack-fuzz-probe' },
        {},
      ),
    );
    // A mutant that still decodes, at a version the broker advertises, is a valid request: it is owed
    // a well-formed answer (none for acks=0), never a close.
    const valid = mutation === null ? null : this.#asValidRequest(bytes);
    if (valid !== null) this.count(`${kind}, still valid`);
    let before = 0;
    for (;;) {
      const outcome = await connection.next(timeoutMs);
      if ('closed' in outcome) {
        if (valid?.expectsResponse === true)
          return failWith('the broker closed the connection on a valid request');
        return !this.#outcome(kind, 'closed');
      }
      if ('badFrame' in outcome) return failWith(outcome.badFrame);
      if ('timeout' in outcome) {
        const slow = legitimatelySlow(bytes, timeoutMs);
        if (slow !== null) return !this.#outcome(kind, `slow (${slow})`);
        return failWith(`neither an answer to the probe nor a close within ${timeoutMs} ms (hang)`);
      }
      const frame = outcome.frame;
      if (frame.length >= 4 && frame.readInt32BE(0) === probeId) {
        try {
          const { body } = decodeResponse(18, 0, frame);
          if ((body as ApiVersionsResponseData).errorCode !== 0) return failWith('the probe got an error');
        } catch (error) {
          return failWith(`the probe's answer does not decode: ${(error as Error).message}`);
        }
        if (valid?.expectsResponse === true && before === 0) return failWith('a valid request got no answer');
        this.#outcome(kind, before === 0 ? 'unanswered' : 'answered');
        return true;
      }
      before++;
      if (before > 1) return failWith('more than one response to one request');
      if (valid !== null) {
        if (!valid.expectsResponse) return failWith('an acks=0 Produce got an answer');
        try {
          const { correlationId } = decodeResponse(valid.apiKey, valid.apiVersion, frame);
          if (correlationId !== valid.correlationId)
            return failWith(`response correlation id ${correlationId}, expected ${valid.correlationId}`);
        } catch (error) {
          return failWith(`response to a valid request does not decode: ${(error as Error).message}`);
        }
      }
    }
  }

  /** The header of a frame (size prefix included) that decodes at an advertised version, else null. */
  #asValidRequest(
    bytes: Uint8Array,
  ): { apiKey: number; apiVersion: number; correlationId: number; expectsResponse: boolean } | null {
    if (bytes.length < 4 || new DataView(bytes.buffer, bytes.byteOffset).getInt32(0) !== bytes.length - 4)
      return null;
    try {
      const { header, body } = decodeRequest(bytes.subarray(4));
      const range = this.#advertised.get(header.requestApiKey);
      if (range === undefined || header.requestApiVersion < range.min || header.requestApiVersion > range.max)
        return null;
      return {
        apiKey: header.requestApiKey,
        apiVersion: header.requestApiVersion,
        correlationId: header.correlationId,
        expectsResponse: !(header.requestApiKey === 0 && body.acks === 0),
      };
    } catch {
      return null;
    }
  }

  #outcome(kind: string, outcome: string): true {
    this.count(`${kind} -> ${outcome}`);
    return true;
  }

  /** The canary: ApiVersions and Metadata on their own connection, answered correctly within a bound. */
  async #canary(): Promise<void> {
    const bound = this.#options.canaryBoundMs;
    let connection: WireConnection;
    try {
      connection = await this.#open();
    } catch (error) {
      this.fail({
        iteration: -1,
        what: `canary: cannot connect: ${(error as Error).message}`,
        request: null,
      });
      return;
    }
    const metadataVersion = Math.min(12, this.#advertised.get(3)?.max ?? 0);
    let round = 0;
    try {
      while (!this.stopped || round === 0) {
        const problem = await this.canaryRound(connection, round++, metadataVersion, bound);
        if (problem !== null) {
          this.fail({ iteration: -1, what: `canary: ${problem}`, request: null });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, CANARY_PERIOD_MS));
      }
    } finally {
      connection.destroy();
    }
  }

  /** One canary round; returns what is wrong, or null. Also used once more at the very end. */
  async canaryRound(
    connection: WireConnection,
    round: number,
    metadataVersion: number,
    boundMs: number,
  ): Promise<string | null> {
    const started = Date.now();
    const apiVersionsId = CANARY_CORRELATION_BASE + ((round * 2) & 0xffffff);
    const header = (apiKey: number, version: number, correlationId: number) => ({
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: 'kstack-fuzz-canary',
    });
    connection.send(
      encodeRequest(header(18, 3, apiVersionsId), {
        clientSoftwareName: 'kstack-fuzz',
        clientSoftwareVersion: '1',
      }),
    );
    connection.send(
      encodeRequest(header(3, metadataVersion, apiVersionsId + 1), {
        topics: [{ topicId: ZERO_UUID, name: this.#protected.topic }],
        allowAutoTopicCreation: false,
      }),
    );
    const first = await connection.next(boundMs);
    if ('timeout' in first) {
      // Tell a slow broker (a loaded machine) from a stalled one in the report: wait a while longer.
      const late = await connection.next(CANARY_STALL_MS);
      const waitedMs = Date.now() - started;
      return 'frame' in late
        ? `ApiVersions answered after ${waitedMs} ms, over the ${boundMs} ms bound (slow, not stalled)`
        : `no ApiVersions answer within ${waitedMs} ms (stalled)`;
    }
    if (!('frame' in first)) return `no ApiVersions answer (${Object.keys(first)[0]})`;
    const apiVersions = decodeResponse(18, 3, first.frame);
    const av = apiVersions.body as ApiVersionsResponseData;
    if (apiVersions.correlationId !== apiVersionsId) return 'ApiVersions correlation id mismatch';
    if (av.errorCode !== 0) return `ApiVersions error ${av.errorCode}`;
    const ranges = new Map(av.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
    if (describeRanges(ranges) !== this.#expectedApiVersions) return 'ApiVersions changed its list';
    const second = await connection.next(boundMs - (Date.now() - started));
    if (!('frame' in second)) return `no Metadata answer within ${boundMs} ms (${Object.keys(second)[0]})`;
    const metadata = decodeResponse(3, metadataVersion, second.frame);
    if (metadata.correlationId !== apiVersionsId + 1) return 'Metadata correlation id mismatch';
    const topic = (metadata.body as MetadataResponseData).topics[0];
    if (topic === undefined || topic.errorCode !== 0)
      return `Metadata: protected topic error ${topic?.errorCode}`;
    if (topic.partitions.length !== this.#protected.partitions)
      return `Metadata: ${topic.partitions.length} partitions`;
    if (topic.partitions.some((p) => p.errorCode !== 0 || p.leaderId < 0))
      return 'Metadata: a partition has no leader';
    const latencyMs = Date.now() - started;
    this.canaryLatencyMsMax = Math.max(this.canaryLatencyMsMax, latencyMs);
    this.canaryRounds++;
    return null;
  }
}

/** Produce names its topics by id from this version on (KIP-516). */
const PRODUCE_TOPIC_ID_VERSION = 13;

/** A corrupted Produce partition the response answered without an error, or null. */
function acceptedCorruptPartition(request: GeneratedRequest, body: Record<string, unknown>): string | null {
  if (request.corruptPartitions.length === 0) return null;
  const responses = (body as ProduceResponseData).responses;
  for (const { topic, index } of request.corruptPartitions) {
    // A topic may be named in several entries (as it may in the request): look through all of them.
    const answer = responses
      // Named by id from Produce v13 on (KIP-516).
      .filter(
        (r) =>
          (request.apiVersion >= PRODUCE_TOPIC_ID_VERSION ? (r as { topicId?: string }).topicId : r.name) ===
          topic,
      )
      .flatMap((r) => r.partitionResponses)
      .find((p) => p.index === index);
    if (answer === undefined) return `${topic}-${index} is missing from the response`;
    if (answer.errorCode === 0)
      return `${topic}-${index} answered without an error (base offset ${answer.baseOffset})`;
  }
  return null;
}

function* strided(first: number, step: number): Generator<number> {
  for (let i = first; ; i += step) yield i;
}

function describeRanges(ranges: VersionRanges): string {
  return [...ranges]
    .sort((a, b) => a[0] - b[0])
    .map(([k, r]) => `${k}:${r.min}-${r.max}`)
    .join(',');
}

/** A request the broker may legitimately hold longer than our timeout: a well-formed one asking to wait. */
function legitimatelySlow(bytes: Uint8Array, timeoutMs: number): string | null {
  if (bytes.length < 4) return null;
  try {
    const { body } = decodeRequest(bytes.subarray(4));
    return findLongWait(body, timeoutMs / 2);
  } catch {
    return null;
  }
}

function findLongWait(value: unknown, thresholdMs: number): string | null {
  if (value === null || typeof value !== 'object') return null;
  for (const [name, field] of Object.entries(value)) {
    if (typeof field === 'number' && /timeout|wait|ms$/i.test(name) && field >= thresholdMs) return name;
    if (typeof field === 'object' && !(field instanceof Uint8Array)) {
      const inner = findLongWait(field, thresholdMs);
      if (inner !== null) return inner;
    }
  }
  return null;
}

export function hex(bytes: Uint8Array, maxBytes = Number.POSITIVE_INFINITY): string {
  const shown = Buffer.from(bytes.subarray(0, Math.min(bytes.length, maxBytes))).toString('hex');
  return bytes.length > maxBytes ? `${shown}… (${bytes.length} bytes)` : shown;
}
