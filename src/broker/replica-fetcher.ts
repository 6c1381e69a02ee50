/**
 * One follower fetcher per leader broker (Kafka's ReplicaFetcherThread): one connection, one
 * Fetch in flight carrying every partition this broker follows on that leader whose replication
 * core asked to fetch. Fetch v17 with ReplicaState{ReplicaId, ReplicaEpoch}, topic ids,
 * CurrentLeaderEpoch and LastFetchedEpoch; the leader long-polls up to `fetchWaitMaxMs`. A lost
 * connection answers every request in flight with an error, so each core backs off and asks again.
 */
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  decodeResponse,
  encodeRequest,
  type FetchRequestData,
  type FetchResponseData,
} from '../protocol/index.ts';
import type { FetchRequest, FetchResponse } from '../replication/types.ts';
import type { InterBrokerLink } from '../security/inter-broker.ts';
import { type SaslClient, saslClient } from '../security/sasl-client.ts';

const FETCH_API_KEY = 1;
const FETCH_VERSION = 17;
const SASL_HANDSHAKE_API_KEY = 17;
const SASL_HANDSHAKE_VERSION = 1;
const SASL_AUTHENTICATE_API_KEY = 36;
const SASL_AUTHENTICATE_VERSION = 2;
/** A SASL exchange has at most this many rounds (SCRAM has two). */
const SASL_ROUNDS_MAX = 4;
/** A frame larger than this from a leader closes the connection (bounded memory). */
const FETCH_RESPONSE_FRAME_MAX_BYTES = 64 * 1024 * 1024;
/** NETWORK_EXCEPTION: the answer given to requests whose connection was lost. */
const NETWORK_EXCEPTION = 13;
/** Kafka's zero UUID (ReplicaDirectoryId unset), as 16 bytes in unpadded base64url. */
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/**
 * Request correlation ids, shared by every fetcher of the process: the leader refuses a fetch not
 * newer than the last it served from the same broker epoch (the core's fetch-session rule), so a
 * fetcher made anew for the same leader must not start again from 1.
 */
let lastCorrelationId = 0;

export interface FetcherPartition {
  readonly key: string;
  readonly topicId: string;
  readonly partition: number;
}

/** Reassignment throttles on the follower side (src/broker/replication-quota.ts, via the ReplicaManager). */
export interface FetcherQuota {
  /** The partition is throttled, not in sync, and the follower quota is exceeded: not fetched now. */
  holdsBack(key: string): boolean;
  /** Records bytes fetched for a partition (counted only if it is throttled). */
  record(key: string, bytes: number): void;
  /** How long a fetcher whose every queued partition is held back waits before it looks again. */
  readonly retryMs: number;
}

export interface ReplicaFetcherOptions {
  readonly nodeId: number;
  readonly leaderId: number;
  /** The leader's address now (from the metadata image), null when unknown. */
  readonly resolve: () => { host: string; port: number } | null;
  /** replica.fetch.wait.max.ms. */
  readonly fetchWaitMaxMs: number;
  /** replica.fetch.max.bytes, per partition. */
  readonly fetchMaxBytes: number;
  /** replica.fetch.response.max.bytes. */
  readonly fetchResponseMaxBytes: number;
  /** The inter-broker listener's TLS and SASL login; absent: plain TCP, no login. */
  readonly link?: Pick<InterBrokerLink, 'tls' | 'sasl'>;
  /** The answer for one partition's request, in order. */
  readonly deliver: (key: string, response: FetchResponse<Buffer>) => void;
  /** Follower throttles; absent: every queued partition is fetched. */
  readonly quota?: FetcherQuota;
  readonly log: { warn(message: string): void };
}

interface Queued {
  readonly place: FetcherPartition;
  readonly request: FetchRequest;
}

export class ReplicaFetcher {
  readonly #options: ReplicaFetcherOptions;
  #socket: Socket | null = null;
  #connected = false;
  #queue = new Map<string, Queued>();
  #inFlight: Queued[] | null = null;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The size of the frame being received, -1 until its 4-byte prefix is here. */
  #frameSize = -1;
  #closed = false;
  /** A failure was reported and no answer has come since. */
  #failing = false;
  /** While logging in: takes the next frame instead of the Fetch answer handling. */
  #frameWaiter: ((frame: Buffer) => void) | null = null;
  /**
   * An answer's partitions are being delivered: the cores' next requests (enqueued from their
   * delivery) wait for the last one, so they all go in one Fetch. Sent at the first enqueue, a
   * Fetch of that partition alone would long-poll the leader while the others, queued behind it,
   * miss the leader's appends for up to `fetchWaitMaxMs` (and its acks=all writes wait as long).
   */
  #delivering = false;
  /** Every queued partition was held back by the quota: look again when this fires. */
  #retryTimer: NodeJS.Timeout | null = null;

  constructor(options: ReplicaFetcherOptions) {
    this.#options = options;
  }

  /** A core asked to fetch (its request replaces an older queued one for the same partition). */
  enqueue(place: FetcherPartition, request: FetchRequest): void {
    if (this.#closed) return;
    this.#queue.set(place.key, { place, request });
    this.#pump();
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#fail('fetcher closed');
    this.#socket?.destroy();
    this.#socket = null;
  }

  #pump(): void {
    if (this.#inFlight !== null || this.#delivering || this.#queue.size === 0 || this.#closed) return;
    if (!this.#connected) {
      this.#connect();
      return;
    }
    const batch = this.#takeSendable();
    if (batch.length === 0) return;
    this.#inFlight = batch;
    const byTopic = new Map<string, FetchRequestData['topics'][number]>();
    let replicaEpoch = -1n;
    for (const { place, request } of batch) {
      replicaEpoch = BigInt(request.replicaEpoch);
      let topic = byTopic.get(place.topicId);
      if (topic === undefined) {
        topic = { topic: '', topicId: place.topicId, partitions: [] };
        byTopic.set(place.topicId, topic);
      }
      topic.partitions.push({
        partition: place.partition,
        currentLeaderEpoch: request.currentLeaderEpoch,
        fetchOffset: BigInt(request.fetchOffset),
        lastFetchedEpoch: request.lastFetchedEpoch,
        logStartOffset: -1n,
        partitionMaxBytes: this.#options.fetchMaxBytes,
        replicaDirectoryId: ZERO_UUID,
      });
    }
    const body: FetchRequestData = {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: this.#options.nodeId, replicaEpoch },
      maxWaitMs: this.#options.fetchWaitMaxMs,
      minBytes: 1,
      maxBytes: this.#options.fetchResponseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()],
      forgottenTopicsData: [],
      rackId: '',
    };
    const frame = encodeRequest(
      {
        requestApiKey: FETCH_API_KEY,
        requestApiVersion: FETCH_VERSION,
        correlationId: ++lastCorrelationId,
        clientId: `kstack-replica-fetcher-${this.#options.nodeId}`,
      },
      body as never,
    );
    this.#socket?.write(frame);
  }

  /**
   * The queued partitions to fetch now: all but those the follower quota holds back, which stay
   * queued (Kafka's fetcher leaves them out of the request); when every one is held back, the
   * fetcher looks again after `retryMs` (Kafka backs off replica.fetch.backoff.ms on an empty request).
   */
  #takeSendable(): Queued[] {
    const quota = this.#options.quota;
    const batch: Queued[] = [];
    for (const [key, queued] of this.#queue) {
      if (quota?.holdsBack(key) === true) continue;
      batch.push(queued);
      this.#queue.delete(key);
    }
    if (batch.length === 0 && quota !== undefined && this.#retryTimer === null) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#pump();
      }, quota.retryMs);
    }
    return batch;
  }

  #connect(): void {
    if (this.#socket !== null) return;
    const address = this.#options.resolve();
    if (address === null) {
      this.#fail(`no address known for leader ${this.#options.leaderId}`);
      return;
    }
    const link = this.#options.link;
    const socket =
      link?.tls === undefined
        ? new Socket()
        : tlsConnect({
            ...link.tls,
            host: address.host,
            port: address.port,
            servername: serverName(address.host),
          });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on(link?.tls === undefined ? 'connect' : 'secureConnect', () => {
      if (this.#socket !== socket) return;
      this.#login(socket).then(
        () => {
          if (this.#socket !== socket) return;
          this.#connected = true;
          this.#pump();
        },
        (error: unknown) => {
          if (this.#socket !== socket) return;
          this.#fail(`login to leader ${this.#options.leaderId} failed: ${(error as Error).message}`);
          socket.destroy();
        },
      );
    });
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#connected = false;
      this.#chunks = [];
      this.#buffered = 0;
      this.#frameSize = -1;
      const waiter = this.#frameWaiter;
      this.#frameWaiter = null;
      waiter?.(Buffer.alloc(0));
      this.#fail(`connection to leader ${this.#options.leaderId} closed`);
    });
    if (link?.tls === undefined) socket.connect(address.port, address.host);
  }

  /** SaslHandshake v1 then SaslAuthenticate v2 rounds, as Kafka's clients log in (no login: done). */
  async #login(socket: Socket): Promise<void> {
    const login = this.#options.link?.sasl;
    if (login === undefined) return;
    const client: SaslClient = saslClient(login);
    const handshake = (await this.#exchange(socket, SASL_HANDSHAKE_API_KEY, SASL_HANDSHAKE_VERSION, {
      mechanism: client.mechanism,
    })) as { errorCode: number; mechanisms: string[] };
    if (handshake.errorCode !== 0) {
      throw new Error(
        `SaslHandshake ${client.mechanism}: error ${handshake.errorCode} (enabled: ${handshake.mechanisms.join(', ')})`,
      );
    }
    let token: Buffer | null = client.first();
    for (let round = 0; token !== null; round++) {
      if (round >= SASL_ROUNDS_MAX)
        throw new Error(`${client.mechanism}: more than ${SASL_ROUNDS_MAX} rounds`);
      const answer = (await this.#exchange(socket, SASL_AUTHENTICATE_API_KEY, SASL_AUTHENTICATE_VERSION, {
        authBytes: token,
      })) as { errorCode: number; errorMessage: string | null; authBytes: Uint8Array };
      if (answer.errorCode !== 0) {
        throw new Error(`SaslAuthenticate: error ${answer.errorCode}: ${answer.errorMessage ?? ''}`);
      }
      token = client.next(answer.authBytes);
    }
  }

  /** One request and its answer while logging in (no Fetch is in flight then). */
  #exchange(socket: Socket, apiKey: number, version: number, body: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#frameWaiter = (frame) => {
        if (frame.length === 0) {
          reject(new Error('connection closed'));
          return;
        }
        try {
          resolve(decodeResponse(apiKey, version, frame).body);
        } catch (error) {
          reject(error as Error);
        }
      };
      socket.write(
        encodeRequest(
          {
            requestApiKey: apiKey,
            requestApiVersion: version,
            correlationId: ++lastCorrelationId,
            clientId: `kstack-replica-fetcher-${this.#options.nodeId}`,
          },
          body as never,
        ),
      );
    });
  }

  #onData(data: Buffer): void {
    this.#chunks.push(data);
    this.#buffered += data.length;
    while (this.#buffered >= 4) {
      if (this.#frameSize < 0) {
        const first = this.#chunks[0]!;
        const head = first.length >= 4 ? first : Buffer.concat(this.#chunks, this.#buffered);
        const size = head.readInt32BE(0);
        if (size < 0 || size > FETCH_RESPONSE_FRAME_MAX_BYTES) {
          this.#options.log.warn(`leader ${this.#options.leaderId} sent a ${size}-byte frame; reconnecting`);
          this.#socket?.destroy();
          return;
        }
        this.#frameSize = size;
      }
      // Joined once the whole frame is here: a large answer arriving in many chunks is copied once.
      if (this.#buffered < 4 + this.#frameSize) return;
      const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      const frame = all.subarray(4, 4 + this.#frameSize);
      const rest = all.subarray(4 + this.#frameSize);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#frameSize = -1;
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Buffer): void {
    const waiter = this.#frameWaiter;
    if (waiter !== null) {
      this.#frameWaiter = null;
      waiter(frame);
      return;
    }
    const batch = this.#inFlight;
    this.#inFlight = null;
    if (batch === null) return;
    this.#failing = false;
    const { body } = decodeResponse(FETCH_API_KEY, FETCH_VERSION, frame) as unknown as {
      body: FetchResponseData;
    };
    const answers = new Map<string, FetchResponseData['responses'][number]['partitions'][number]>();
    for (const topic of body.responses)
      for (const partition of topic.partitions)
        answers.set(`${topic.topicId}/${partition.partitionIndex}`, partition);
    this.#delivering = true;
    try {
      this.#deliverAnswers(batch, body, answers);
    } finally {
      this.#delivering = false;
    }
    this.#pump();
  }

  #deliverAnswers(
    batch: readonly Queued[],
    body: FetchResponseData,
    answers: ReadonlyMap<string, FetchResponseData['responses'][number]['partitions'][number]>,
  ): void {
    for (const { place, request } of batch) {
      const answer = answers.get(`${place.topicId}/${place.partition}`);
      const errorCode = body.errorCode !== 0 ? body.errorCode : (answer?.errorCode ?? NETWORK_EXCEPTION);
      const diverging = answer?.divergingEpoch;
      const records = answer?.records;
      if (records !== null && records !== undefined && errorCode === 0)
        this.#options.quota?.record(place.key, records.byteLength);
      this.#options.deliver(place.key, {
        type: 'fetch-response',
        partition: place.partition,
        errorCode: errorCode as FetchResponse['errorCode'],
        leaderEpoch: request.currentLeaderEpoch,
        highWatermark: Number(answer?.highWatermark ?? -1n),
        divergingEpoch:
          diverging !== undefined && diverging.epoch >= 0
            ? { epoch: diverging.epoch, endOffset: Number(diverging.endOffset) }
            : null,
        entries:
          records !== null && records !== undefined && records.length > 0 && errorCode === 0
            ? [
                {
                  offset: Number(request.fetchOffset),
                  epoch: -1,
                  value: Buffer.from(records.buffer, records.byteOffset, records.byteLength),
                },
              ]
            : [],
        correlationId: request.correlationId,
      });
    }
  }

  #fail(why: string): void {
    const alreadyFailing = this.#failing;
    const failed = [...(this.#inFlight ?? []), ...this.#queue.values()];
    this.#inFlight = null;
    this.#queue.clear();
    for (const { place, request } of failed) {
      this.#options.deliver(place.key, {
        type: 'fetch-response',
        partition: place.partition,
        errorCode: NETWORK_EXCEPTION as FetchResponse['errorCode'],
        leaderEpoch: request.currentLeaderEpoch,
        highWatermark: -1,
        divergingEpoch: null,
        entries: [],
        correlationId: request.correlationId,
      });
    }
    if (failed.length === 0 || this.#closed) return;
    this.#failing = true;
    // Said once per outage: the cores ask again every replica.fetch.backoff.ms.
    if (!alreadyFailing)
      this.#options.log.warn(`replica fetcher ${this.#options.nodeId}→${this.#options.leaderId}: ${why}`);
  }
}

/** TLS SNI takes a host name, not an IP address. */
function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}
