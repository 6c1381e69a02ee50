/**
 * One combined node of a cluster (`process.roles=broker,controller`) in one process: the
 * controller listener with its Raft driver and the metadata quorum, and the broker whose image
 * is the replay of the quorum's committed records. The broker's metadata writes are proposed to
 * the quorum and answered once committed; on a node that is not the active controller they are
 * refused with NOT_CONTROLLER, and Metadata names the active controller, so Kafka's admin clients
 * (which send CreateTopics to the controller Metadata names) reach the node that can commit.
 */
import { Broker, type BrokerOptions } from '../broker/broker.ts';
import type { MetadataRecord } from '../broker/metadata-image.ts';
import { MetadataQuorum } from '../controller/metadata-quorum.ts';
import { ControllerNode } from '../controller/node.ts';
import type { PeerAddress } from '../controller/peer.ts';
import type { LeaderAndEpoch, RaftConfig } from '../raft/types.ts';
import type { ServerLog } from '../server/server.ts';

export const CONTROLLER_LISTENER_NAME = 'CONTROLLER';

/** A broker of the cluster as clients reach it (its first listener as advertised). */
export interface ClusterBrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface ClusterNodeOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  /** `controller.quorum.voters`: every node's controller listener. */
  readonly voters: readonly PeerAddress[];
  /**
   * Every broker of the cluster. Until brokers register themselves (BrokerRegistration, API 62),
   * the active controller writes a RegisterBrokerRecord for each one it does not yet know.
   */
  readonly brokers: readonly ClusterBrokerAddress[];
  readonly host: string;
  /** This node's broker port (its entry in `brokers`). */
  readonly port: number;
  readonly dataDir: string;
  readonly config?: Record<string, string>;
  readonly raftConfig?: Partial<RaftConfig>;
  readonly log: ServerLog;
  /** The Raft replica stopped on a broken safety rule or unusable file: the process should exit. */
  readonly onFatal: (error: Error) => void;
  /** Extra broker options (observer, advertised address). */
  readonly broker?: Partial<Omit<BrokerOptions, 'metadataWriter' | 'dataDir' | 'host' | 'port' | 'nodeId'>>;
}

export class ClusterNode {
  readonly nodeId: number;
  readonly quorum: MetadataQuorum;
  readonly controller: ControllerNode;
  readonly broker: Broker;
  readonly #options: ClusterNodeOptions;
  #leader: LeaderAndEpoch = { epoch: -1, leaderId: -1 };
  #stopped = false;
  /** One registration proposal at a time. */
  #registering = false;

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    const self = options.voters.find((voter) => voter.nodeId === options.nodeId);
    if (self === undefined) {
      throw new Error(`controller.quorum.voters does not name node.id ${options.nodeId}`);
    }
    this.quorum = new MetadataQuorum({
      clusterId: options.clusterId,
      onRecords: (records) => this.broker.replayMetadata(records),
      onImage: () => this.#registerMissing(),
    });
    this.broker = new Broker({
      ...options.broker,
      nodeId: options.nodeId,
      dataDir: options.dataDir,
      host: options.host,
      port: options.port,
      config: options.config,
      log: options.log,
      metadataWriter: this.quorum,
    });
    this.controller = new ControllerNode({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      voters: options.voters,
      listenerName: CONTROLLER_LISTENER_NAME,
      host: options.host,
      port: self.port,
      dataDir: options.dataDir,
      raftConfig: options.raftConfig,
      raftListener: this.quorum.listener,
      onLeaderChange: (leader) => this.#onLeaderChange(leader),
      log: options.log,
      onFatal: options.onFatal,
    });
    this.quorum.attach(this.controller.driver);
    // No controller is named until the quorum has a leader.
    this.broker.setController(-1);
  }

  /** The quorum's leader as this node knows it. */
  leader(): LeaderAndEpoch {
    return this.#leader;
  }

  /** Binds the broker listeners, then the controller listener (the replica's timers start there). */
  async start(): Promise<void> {
    await this.broker.start();
    try {
      await this.controller.start();
    } catch (error) {
      await this.broker.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.quorum.detach();
    await this.controller.stop();
    await this.broker.stop();
  }

  #onLeaderChange(leader: LeaderAndEpoch): void {
    this.#leader = leader;
    this.quorum.onLeaderChange(leader);
    this.broker.setController(leader.leaderId);
    // Proposed on a later turn: the driver is not re-entered from its own callback.
    if (leader.leaderId === this.nodeId) setImmediate(() => this.#registerMissing());
  }

  /** On the active controller: a RegisterBrokerRecord for each broker the image lacks or holds elsewhere. */
  #registerMissing(): void {
    if (this.#stopped || this.#leader.leaderId !== this.nodeId) return;
    const image = this.quorum.image();
    const records: MetadataRecord[] = [];
    for (const broker of this.#options.brokers) {
      const known = image.brokers().find((b) => b.nodeId === broker.nodeId);
      if (known !== undefined && known.host === broker.host && known.port === broker.port) continue;
      records.push({
        type: 'RegisterBrokerRecord',
        brokerId: broker.nodeId,
        host: broker.host,
        port: broker.port,
        rack: null,
      });
    }
    if (records.length === 0 || this.#registering) return;
    this.#registering = true;
    this.quorum
      .propose(records)
      .catch((error: unknown) => this.#options.log.warn(`broker registration: ${(error as Error).message}`))
      .finally(() => {
        this.#registering = false;
      });
  }
}
