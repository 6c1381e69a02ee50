/**
 * Metadata writes sent to a broker that is not the active controller, forwarded to it as Kafka 4's
 * brokers forward them: DeleteTopics (20), CreateAcls (30), DeleteAcls (31), AlterConfigs (33),
 * CreatePartitions (37), IncrementalAlterConfigs (44), AlterClientQuotas (49) and AlterUserScramCredentials (51); ElectLeaders
 * (43) too, served on the controller listener by ReplicationControl itself. One path
 * for all of them: the broker's handler, once its request is authorized and parsed, hands the
 * decoded request to `AdminForwarder.forward`, which sends it unchanged (same API key and version)
 * to the active controller's listener; there `forwardedAdminHandlers` run the very same broker
 * handler on the controller's co-located broker (which validates on the committed image, proposes
 * and answers once committed), so the client gets the controller's codes and messages unchanged.
 * Before answering, the forwarding broker waits until it has replayed the controller's high
 * watermark (read from DescribeQuorum right after the answer): a client that changes something
 * through one node then reads it back on the same node sees its change.
 *
 * Kafka wraps forwarded requests in Envelope (58) to carry the client's principal, because its
 * controller authorizes them; kstack's brokers authorize before forwarding, so the plain API is
 * enough (as for CreateTopics, src/controller/create-topics-forwarded.ts).
 *
 * During a quorum election the request waits, as Kafka's forwarding channel queues it: while no
 * controller is known, when the connection to the one named fails (it was just killed), and when
 * the node asked answers NOT_CONTROLLER (it lost the leadership), the request is sent again every
 * 100 ms to whichever node leads by then, for up to FORWARD_NO_CONTROLLER_RETRY_MS. Kafka 4.1.1's
 * 3-node reference, its active controller killed with SIGKILL and CreateTopics, DeleteTopics and
 * CreatePartitions sent at once through another broker, answered all three with success after
 * 3.6-3.8 s (the election). Like Kafka's, a request whose connection failed after it was sent is
 * sent again: if the dead controller had committed it, the second answer says so (for example
 * TOPIC_ALREADY_EXISTS).
 */
import { type Broker, FORWARDED_REPLAY_WAIT_MS } from '../broker/broker.ts';
import { type Handler, NO_RESPONSE } from '../broker/handler.ts';
import { handler as deleteTopics } from '../broker/handlers/20-delete-topics.ts';
import { handler as createAcls } from '../broker/handlers/30-create-acls.ts';
import { handler as deleteAcls } from '../broker/handlers/31-delete-acls.ts';
import { handler as alterConfigs } from '../broker/handlers/33-alter-configs.ts';
import { handler as createPartitions } from '../broker/handlers/37-create-partitions.ts';
import { handler as incrementalAlterConfigs } from '../broker/handlers/44-incremental-alter-configs.ts';
import { handler as alterClientQuotas } from '../broker/handlers/49-alter-client-quotas.ts';
import { handler as alterUserScramCredentials } from '../broker/handlers/51-alter-user-scram-credentials.ts';
import type { MessageValue } from '../protocol/index.ts';
import { type ControllerClient, refusesNotController, untilControllerAnswers } from './broker-lifecycle.ts';
import type { ControllerHandler } from './handler.ts';
import { METADATA_PARTITION, METADATA_TOPIC } from './wire.ts';

/** The broker handlers whose requests are forwarded (CreateTopics has its own path: it is also called from inside the broker). */
export const FORWARDED_ADMIN_HANDLERS: readonly Handler[] = [
  deleteTopics,
  createAcls,
  deleteAcls,
  alterConfigs,
  createPartitions,
  incrementalAlterConfigs,
  alterClientQuotas,
  alterUserScramCredentials,
];

/**
 * APIs that only the controller's own handlers serve (ElectLeaders, 43, and
 * AlterPartitionReassignments, 45: ReplicationControl; DescribeQuorum, 55: the Raft leader): the broker sends them to the active controller's listener
 * even when that is its own node.
 */
export const CONTROLLER_SERVED_KEYS: ReadonlySet<number> = new Set([43, 45, 55]);
/** Forwarded reads: their answer changes nothing, so there is no replay to wait for. */
const READ_ONLY_KEYS: ReadonlySet<number> = new Set([55]);

const REPLAY_POLL_MS = 5;
const DESCRIBE_QUORUM_KEY = 55;
const DESCRIBE_QUORUM_VERSION = 0;
/** The client id kstack's brokers use towards the controller (`ControllerClient`). */
export function controllerClientId(nodeId: number): string {
  return `kstack-broker-${nodeId}`;
}

export interface AdminForwarderOptions {
  readonly client: ControllerClient;
  /** Whether this node is the active controller now (then nothing is forwarded). */
  readonly isActive: () => boolean;
  /** The offset below which this node has replayed the committed metadata. */
  readonly appliedEndOffset: () => number;
  /** The high watermark this node's Raft replica knows (a fallback when DescribeQuorum fails). */
  readonly localHighWatermark: () => number;
}

export class AdminForwarder {
  readonly #options: AdminForwarderOptions;

  constructor(options: AdminForwarderOptions) {
    this.#options = options;
  }

  /**
   * The active controller's answer to this request, once this node has replayed what it committed;
   * null when this node is the active controller (the caller handles the request itself). Throws
   * when no controller could be asked: the caller then answers from here (NOT_CONTROLLER).
   */
  async forward(apiKey: number, apiVersion: number, body: MessageValue): Promise<MessageValue | null> {
    const answer = await untilControllerAnswers<MessageValue | null>(
      async () => {
        // This node may win the election meanwhile: then it handles the request itself.
        if (this.#options.isActive() && !CONTROLLER_SERVED_KEYS.has(apiKey)) return null;
        return await this.#options.client.request(apiKey, apiVersion, body);
      },
      (answer) => answer !== null && refusesNotController(answer),
    );
    if (answer !== null && !READ_ONLY_KEYS.has(apiKey)) await this.#awaitReplay();
    return answer;
  }

  async #awaitReplay(): Promise<void> {
    const target = await this.#controllerHighWatermark().catch(() => this.#options.localHighWatermark());
    const deadline = performance.now() + FORWARDED_REPLAY_WAIT_MS;
    while (this.#options.appliedEndOffset() < target) {
      if (performance.now() >= deadline) {
        throw new Error(
          `the controller committed up to offset ${target}, but this node replayed only to ${this.#options.appliedEndOffset()} within ${FORWARDED_REPLAY_WAIT_MS} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
    }
  }

  /** The controller's high watermark, asked after its answer, so it covers what it committed for us. */
  async #controllerHighWatermark(): Promise<number> {
    const answer = await this.#options.client.request(DESCRIBE_QUORUM_KEY, DESCRIBE_QUORUM_VERSION, {
      topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: METADATA_PARTITION }] }],
    });
    const partition = (
      answer.topics as { partitions: { errorCode: number; highWatermark: bigint }[] }[] | undefined
    )?.[0]?.partitions[0];
    if (answer.errorCode !== 0 || partition === undefined || partition.errorCode !== 0) {
      throw new Error('DescribeQuorum did not name the high watermark');
    }
    return Number(partition.highWatermark);
  }
}

/**
 * The controller listener's side: each forwarded API answered by the broker handler itself, run on
 * this node's broker in a forwarded context (so it does not forward again). On a node that is not
 * the active controller the broker's proposal is refused, and the answer says NOT_CONTROLLER.
 */
export function forwardedAdminHandlers(broker: Broker): ControllerHandler[] {
  return FORWARDED_ADMIN_HANDLERS.map((handler) => ({
    apiKey: handler.apiKey,
    name: handler.name,
    minVersion: handler.minVersion,
    maxVersion: handler.maxVersion,
    async handle(body, context): Promise<MessageValue> {
      const origin = /^kstack-broker-(\d+)$/.exec(context.clientId ?? '');
      const forwarded = broker.forwardedContext(
        handler.apiKey,
        context.apiVersion,
        context.clientId,
        origin === null ? broker.nodeId : Number(origin[1]),
      );
      const answer = await handler.handle(body, forwarded);
      if (answer === NO_RESPONSE) throw new Error(`${handler.name} gave no answer to a forwarded request`);
      return answer as MessageValue;
    },
  }));
}
