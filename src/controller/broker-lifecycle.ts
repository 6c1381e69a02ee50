/**
 * A broker's side of the controller: one client connection to the active controller's listener
 * (found from the quorum's leader and `controller.quorum.voters`), BrokerRegistration until it
 * answers a broker epoch, then the ControllerChannel the ReplicaManager uses (AlterPartition v3,
 * BrokerHeartbeat v1 carrying the metadata offset replayed so far, so the controller unfences a
 * broker that has caught up). A lost connection fails what it carried; the next request connects
 * again, to whichever node leads by then.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type {
  AlterPartitionRequestData,
  AlterPartitionResponseData,
  ControllerChannel,
} from '../broker/controller-channel.ts';
import type { AdminResult, CreateTopicSpec } from '../broker/services.ts';
import {
  decodeResponse,
  encodeRequest,
  KafkaErrors,
  type MessageValue,
  uuidFromRandomBytes,
} from '../protocol/index.ts';
import {
  ALTER_PARTITION_KEY,
  ALTER_PARTITION_VERSION,
  BROKER_HEARTBEAT_KEY,
  BROKER_HEARTBEAT_VERSION,
  BROKER_REGISTRATION_KEY,
  BROKER_REGISTRATION_VERSION,
  decodeLifecycleResponse,
  encodeLifecycleRequest,
  LIFECYCLE_APIS,
} from './lifecycle-wire.ts';
import type { PeerAddress } from './peer.ts';

/** A request to the controller unanswered for this long fails (and closes the connection). */
export const CONTROLLER_REQUEST_TIMEOUT_MS = 10_000;
/** Requests awaiting an answer on the connection; more fail at once. */
export const CONTROLLER_IN_FLIGHT_MAX = 64;
/** Answers larger than this close the connection (these APIs answer a few hundred bytes). */
const CONTROLLER_RESPONSE_BYTES_MAX = 16 * 1024 * 1024;
/**
 * Wait after a registration attempt the named controller did not take (NOT_CONTROLLER, connection
 * refused), unless the quorum names another leader first. With no leader known the broker waits for
 * one to be named and registers at once (as Kafka's channel holds the request until a controller is
 * known); this bounds that wait too.
 */
export const REGISTRATION_RETRY_MS = 200;
/** SecurityProtocol PLAINTEXT: the listener registered when the broker names none (`listeners`). */
const PLAINTEXT = 0;

/** One of the broker's listeners as BrokerRegistration sends it (securityProtocol: Kafka's id). */
export interface RegistrationListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

interface Pending {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly resolve: (body: MessageValue) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ControllerClient {
  readonly #controller: () => PeerAddress | null;
  readonly #clientId: string;
  #socket: net.Socket | null = null;
  #target: number | null = null;
  #nextCorrelationId = 1;
  readonly #inFlight = new Map<number, Pending>();
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;

  /** `controller` names the active controller's listener, or null while there is none. */
  constructor(controller: () => PeerAddress | null, clientId: string) {
    this.#controller = controller;
    this.#clientId = clientId;
  }

  request(apiKey: number, apiVersion: number, body: MessageValue): Promise<MessageValue> {
    if (this.#closed) return Promise.reject(new Error('the controller client is closed'));
    const target = this.#controller();
    if (target === null) return Promise.reject(new Error('no active controller is known'));
    if (this.#socket !== null && this.#target !== target.nodeId)
      this.#drop(new Error('the controller moved'));
    if (this.#inFlight.size >= CONTROLLER_IN_FLIGHT_MAX) {
      return Promise.reject(new Error(`${CONTROLLER_IN_FLIGHT_MAX} requests already wait on the controller`));
    }
    const socket = this.#socket ?? this.#connect(target);
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId % 0x7fffffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#drop(new Error(`the controller did not answer within ${CONTROLLER_REQUEST_TIMEOUT_MS} ms`)),
        CONTROLLER_REQUEST_TIMEOUT_MS,
      );
      this.#inFlight.set(correlationId, { apiKey, apiVersion, resolve, reject, timer });
      socket.write(
        LIFECYCLE_APIS.has(apiKey)
          ? encodeLifecycleRequest(apiKey, apiVersion, correlationId, this.#clientId, body)
          : encodeRequest(
              {
                requestApiKey: apiKey,
                requestApiVersion: apiVersion,
                correlationId,
                clientId: this.#clientId,
              },
              body,
            ),
      );
    });
  }

  close(): void {
    this.#closed = true;
    this.#drop(new Error('the controller client is closed'));
  }

  #connect(target: PeerAddress): net.Socket {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) this.#drop(new Error(`connection to controller ${target.nodeId} closed`));
    });
    this.#socket = socket;
    this.#target = target.nodeId;
    this.#buffer = Buffer.alloc(0);
    return socket;
  }

  #drop(error: Error): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#target = null;
    socket?.destroy();
    for (const pending of this.#inFlight.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#inFlight.clear();
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (size < 4 || size > CONTROLLER_RESPONSE_BYTES_MAX) {
        this.#drop(new Error(`the controller sent a frame of ${size} bytes`));
        return;
      }
      if (this.#buffer.length < 4 + size) return;
      const frame = this.#buffer.subarray(4, 4 + size);
      this.#buffer = this.#buffer.subarray(4 + size);
      const pending = this.#inFlight.get(frame.readInt32BE(0));
      if (pending === undefined) {
        this.#drop(new Error('the controller answered an unknown correlation id'));
        return;
      }
      this.#inFlight.delete(frame.readInt32BE(0));
      clearTimeout(pending.timer);
      try {
        const { apiKey, apiVersion } = pending;
        pending.resolve(
          LIFECYCLE_APIS.has(apiKey)
            ? decodeLifecycleResponse(apiKey, apiVersion, frame).body
            : decodeResponse(apiKey, apiVersion, frame).body,
        );
      } catch (error) {
        pending.reject(error as Error);
        this.#drop(new Error(`undecodable answer from the controller: ${(error as Error).message}`));
        return;
      }
    }
  }
}

export interface BrokerLifecycleOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly client: ControllerClient;
  /** The broker listener clients reach (registered as the broker's endpoint). */
  readonly endpoint: () => { host: string; port: number } | null;
  /**
   * Every listener, the first being `endpoint`'s (the one brokers replicate over); absent: one
   * PLAINTEXT listener at `endpoint`.
   */
  readonly listeners?: () => readonly RegistrationListener[];
  /** The offset of the last metadata record this node replayed. */
  readonly metadataOffset: () => number;
  /**
   * KIP-966's PreviousBrokerEpoch: the epoch a clean shutdown left (src/controller/clean-shutdown.ts),
   * -1 after a crash or at the first start; absent: -1.
   */
  readonly previousBrokerEpoch?: () => number;
  readonly log: { info(message: string): void; warn(message: string): void };
}

/** Registers the broker and serves as its ControllerChannel. */
export class BrokerLifecycle implements ControllerChannel {
  readonly #options: BrokerLifecycleOptions;
  readonly #incarnationId = uuidFromRandomBytes(randomBytes(16));
  /** Wakes whoever waits for the quorum to name (another) leader. */
  readonly #controllerWaiters = new Set<() => void>();
  /** Counts controllerChanged() calls: a wait for a change already seen ends at once. */
  #controllerChanges = 0;
  #stopped = false;

  constructor(options: BrokerLifecycleOptions) {
    this.#options = options;
  }

  stop(): void {
    this.#stopped = true;
    this.controllerChanged();
  }

  /** The quorum named another leader: a registration or heartbeat waiting to retry goes now. */
  controllerChanged(): void {
    this.#controllerChanges += 1;
    for (const wake of [...this.#controllerWaiters]) wake();
  }

  /** How many leader changes this broker was told of (for `untilControllerChanges`' `since`). */
  get controllerChanges(): number {
    return this.#controllerChanges;
  }

  /**
   * Resolves at the next controllerChanged() (or stop()), at the latest after `timeoutMs`; at once
   * when the leader changed after `since` (a `controllerChanges` value read before the attempt).
   */
  untilControllerChanges(timeoutMs: number, since = this.#controllerChanges): Promise<void> {
    if (this.#stopped || since !== this.#controllerChanges) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#controllerWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#controllerWaiters.add(wake);
    });
  }

  /**
   * BrokerRegistration until the active controller answers an epoch: sent as soon as the quorum
   * names a leader, again at each leader change or REGISTRATION_RETRY_MS after a refusal.
   */
  async register(): Promise<number> {
    let lastProblem = '';
    while (!this.#stopped) {
      const since = this.#controllerChanges;
      const endpoint = this.#options.endpoint();
      if (endpoint !== null) {
        try {
          const answer = await this.#options.client.request(
            BROKER_REGISTRATION_KEY,
            BROKER_REGISTRATION_VERSION,
            {
              brokerId: this.#options.nodeId,
              clusterId: this.#options.clusterId,
              incarnationId: this.#incarnationId,
              listeners: this.#options.listeners?.() ?? [
                { name: 'PLAINTEXT', host: endpoint.host, port: endpoint.port, securityProtocol: PLAINTEXT },
              ],
              features: [],
              rack: null,
              logDirs: [],
              previousBrokerEpoch: BigInt(this.#options.previousBrokerEpoch?.() ?? -1),
            },
          );
          if (answer.errorCode === 0) return Number(answer.brokerEpoch as bigint);
          if (answer.errorCode === KafkaErrors.INCONSISTENT_CLUSTER_ID.code) {
            throw new Error(
              `the controller refused cluster id ${this.#options.clusterId} (INCONSISTENT_CLUSTER_ID)`,
            );
          }
          lastProblem = `error code ${String(answer.errorCode)}`;
        } catch (error) {
          if ((error as Error).message.includes('INCONSISTENT_CLUSTER_ID')) throw error;
          lastProblem = (error as Error).message;
        }
      }
      await this.untilControllerChanges(REGISTRATION_RETRY_MS, since);
    }
    throw new Error(`broker ${this.#options.nodeId} stopped before it registered (${lastProblem})`);
  }

  /** BrokerHeartbeat; the answer (fenced, caught up, shut down) is returned for controlled shutdown. */
  async heartbeat(brokerEpoch: number, wantShutDown = false): Promise<MessageValue> {
    return this.#options.client.request(BROKER_HEARTBEAT_KEY, BROKER_HEARTBEAT_VERSION, {
      brokerId: this.#options.nodeId,
      brokerEpoch: BigInt(brokerEpoch),
      currentMetadataOffset: BigInt(this.#options.metadataOffset()),
      wantFence: false,
      wantShutDown,
      offlineLogDirs: [],
    });
  }

  brokerHeartbeat(_brokerId: number, brokerEpoch: number): void {
    if (this.#stopped) return;
    this.heartbeat(brokerEpoch).then(
      (answer) => {
        if (answer.errorCode !== 0)
          this.#options.log.warn(`broker heartbeat: error code ${String(answer.errorCode)}`);
      },
      (error: unknown) => this.#options.log.warn(`broker heartbeat: ${(error as Error).message}`),
    );
  }

  async alterPartition(request: AlterPartitionRequestData): Promise<AlterPartitionResponseData> {
    const failed = (errorCode: number): AlterPartitionResponseData => ({ errorCode, topics: [] });
    try {
      const answer = await this.#options.client.request(ALTER_PARTITION_KEY, ALTER_PARTITION_VERSION, {
        brokerId: request.brokerId,
        brokerEpoch: BigInt(request.brokerEpoch),
        topics: request.topics.map((topic) => ({
          topicId: topic.topicId,
          partitions: topic.partitions.map((partition) => ({
            partitionIndex: partition.partitionIndex,
            leaderEpoch: partition.leaderEpoch,
            newIsrWithEpochs: partition.newIsrWithEpochs.map((member) => ({
              brokerId: member.brokerId,
              brokerEpoch: BigInt(member.brokerEpoch),
            })),
            leaderRecoveryState: partition.leaderRecoveryState,
            partitionEpoch: partition.partitionEpoch,
          })),
        })),
      });
      return answer as unknown as AlterPartitionResponseData;
    } catch {
      // The transport failed: the outcome is unknown, which the replica core settles by resending.
      return failed(KafkaErrors.NOT_CONTROLLER.code);
    }
  }
}

/**
 * How long a forwarded request waits for an active controller that answers it (an election after
 * the controller's loss takes about 2-4 s); past it the broker answers from here (NOT_CONTROLLER).
 */
export const FORWARD_NO_CONTROLLER_RETRY_MS = 8_000;
/** Between two attempts to send a forwarded request while the quorum elects a leader. */
export const FORWARD_RETRY_INTERVAL_MS = 100;
const NOT_CONTROLLER = KafkaErrors.NOT_CONTROLLER.code;

/**
 * Whether a controller's answer refuses any part of the request with NOT_CONTROLLER (the node
 * asked was not, or no longer, the active controller: that part was applied nowhere).
 */
export function refusesNotController(answer: unknown): boolean {
  if (Array.isArray(answer)) return answer.some(refusesNotController);
  if (answer === null || typeof answer !== 'object') return false;
  for (const [key, value] of Object.entries(answer)) {
    if (key === 'errorCode' && value === NOT_CONTROLLER) return true;
    if (typeof value === 'object' && value !== null && refusesNotController(value)) return true;
  }
  return false;
}

/**
 * Sends `attempt` again while the quorum has no reachable active controller: on a failed send or
 * connection, or an answer `retry` says to send again, until `waitMs` has passed (then the last
 * failure is thrown, or the last answer returned).
 */
export async function untilControllerAnswers<T>(
  attempt: () => Promise<T>,
  retry: (answer: T) => boolean,
  waitMs: number = FORWARD_NO_CONTROLLER_RETRY_MS,
): Promise<T> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      const answer = await attempt();
      if (!retry(answer) || performance.now() >= deadline) return answer;
    } catch (error) {
      if (performance.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, FORWARD_RETRY_INTERVAL_MS));
  }
}

/** CreateTopics as a broker forwards it to the active controller (Kafka 4 forwards it too). */
export const CREATE_TOPICS_KEY = 19;
export const CREATE_TOPICS_FORWARD_VERSION = 7;

/** Forwards a topic creation; answers the controller's per-topic outcome, or NOT_CONTROLLER when none answered. */
export async function forwardCreateTopic(
  client: ControllerClient,
  spec: CreateTopicSpec,
  timeoutMs: number,
): Promise<AdminResult> {
  try {
    const request = () =>
      client.request(CREATE_TOPICS_KEY, CREATE_TOPICS_FORWARD_VERSION, {
        topics: [
          {
            name: spec.name,
            numPartitions: spec.numPartitions,
            replicationFactor: spec.replicationFactor,
            assignments: (spec.assignments ?? []).map((brokerIds, partitionIndex) => ({
              partitionIndex,
              brokerIds,
            })),
            configs: [...(spec.configs ?? new Map())].map(([name, value]) => ({ name, value })),
          },
        ],
        timeoutMs,
        validateOnly: spec.validateOnly === true,
      });
    // Sent again while the quorum elects a controller (src/controller/forwarded-admin.ts).
    const answer = await untilControllerAnswers(request, refusesNotController);
    const topic = (answer.topics as { errorCode: number; errorMessage: string | null }[])[0];
    if (topic === undefined)
      return { errorCode: KafkaErrors.UNKNOWN_SERVER_ERROR.code, errorMessage: 'no answer' };
    return { errorCode: topic.errorCode, errorMessage: topic.errorMessage };
  } catch (error) {
    return {
      errorCode: KafkaErrors.NOT_CONTROLLER.code,
      errorMessage: `forwarding to the active controller failed: ${(error as Error).message}`,
    };
  }
}
