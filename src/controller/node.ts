/**
 * A KRaft controller node: the RaftDriver of the metadata log, served on the controller listener
 * (`controller.listener.names`, one address) to the other voters and to `--bootstrap-controller`
 * tools. The listener has its own handler list (handlers/), so its ApiVersions names only what it
 * serves, and a Fetch there is a Raft fetch of `__cluster_metadata`, never a data fetch.
 */
import { mkdirSync } from 'node:fs';
import type { ConnectionInfo } from '../broker/handler.ts';
import { decodeRequest, encodeResponse, KafkaErrors, ProtocolError } from '../protocol/index.ts';
import type { RaftListener } from '../raft/replica.ts';
import type { LeaderAndEpoch, RaftConfig } from '../raft/types.ts';
import {
  type DispatchResult,
  KafkaServer,
  type RequestDispatcher,
  type ServerLog,
} from '../server/server.ts';
import { metadataLogDir, RaftDriver } from './driver.ts';
import type { ControllerHandler } from './handler.ts';
import { handler as fetch } from './handlers/01-fetch.ts';
import { handler as apiVersions } from './handlers/18-api-versions.ts';
import { handler as vote } from './handlers/52-vote.ts';
import { handler as beginQuorumEpoch } from './handlers/53-begin-quorum-epoch.ts';
import { handler as endQuorumEpoch } from './handlers/54-end-quorum-epoch.ts';
import { handler as describeQuorum } from './handlers/55-describe-quorum.ts';
import { handler as fetchSnapshot } from './handlers/59-fetch-snapshot.ts';
import { handler as describeCluster } from './handlers/60-describe-cluster.ts';
import { decodeLifecycleRequest, encodeLifecycleResponse, LIFECYCLE_APIS } from './lifecycle-wire.ts';
import type { PeerAddress } from './peer.ts';

const HANDLERS: readonly ControllerHandler[] = [
  fetch,
  apiVersions,
  vote,
  beginQuorumEpoch,
  endQuorumEpoch,
  describeQuorum,
  fetchSnapshot,
  describeCluster,
];
const API_VERSIONS_KEY = 18;

export interface ControllerNodeOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  /** `controller.quorum.voters`: every voter's controller address, this node's included. */
  readonly voters: readonly PeerAddress[];
  /** The name of the controller listener (`controller.listener.names`), e.g. CONTROLLER. */
  readonly listenerName: string;
  /** Where the controller listener binds (its port may differ from the voters entry only when 0). */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly raftConfig?: Partial<RaftConfig>;
  /** Told of commits, truncations and snapshots (the metadata quorum, metadata-quorum.ts). */
  readonly raftListener?: Omit<RaftListener, 'onLeaderChange'>;
  readonly onLeaderChange?: (leader: LeaderAndEpoch) => void;
  /** Handlers a combined node adds (BrokerRegistration, BrokerHeartbeat, AlterPartition: lifecycle-wire.ts). */
  readonly extraHandlers?: readonly ControllerHandler[];
  readonly log: ServerLog;
  /** The replica stopped on a broken safety rule or unusable file: the process should exit. */
  readonly onFatal: (error: Error) => void;
}

export class ControllerNode implements RequestDispatcher {
  readonly driver: RaftDriver;
  readonly listenerName: string;
  readonly log: ServerLog;
  readonly #options: ControllerNodeOptions;
  readonly #handlers = new Map<number, ControllerHandler>(HANDLERS.map((h) => [h.apiKey, h]));
  #server: KafkaServer | null = null;
  #port = 0;

  constructor(options: ControllerNodeOptions) {
    this.#options = options;
    for (const handler of options.extraHandlers ?? []) {
      if (this.#handlers.has(handler.apiKey))
        throw new Error(`two controller handlers for API ${handler.apiKey}`);
      this.#handlers.set(handler.apiKey, handler);
    }
    this.listenerName = options.listenerName;
    this.log = options.log;
    const self = options.voters.find((voter) => voter.nodeId === options.nodeId);
    if (self === undefined) {
      throw new Error(
        `controller.quorum.voters (${options.voters.map((v) => `${v.nodeId}@${v.host}:${v.port}`).join(',')}) does not name node.id ${options.nodeId}`,
      );
    }
    mkdirSync(options.dataDir, { recursive: true });
    this.driver = new RaftDriver({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      voters: options.voters,
      dataDir: metadataLogDir(options.dataDir),
      config: options.raftConfig,
      listener: options.raftListener,
      onLeaderChange: options.onLeaderChange,
      log: options.log,
      onFatal: options.onFatal,
    });
  }

  get port(): number {
    return this.#port;
  }

  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.#handlers.values()]
      .map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  async start(): Promise<void> {
    this.#server = new KafkaServer({
      host: this.#options.host,
      port: this.#options.port,
      dispatcher: this,
      listenerName: this.listenerName,
      log: this.log,
    });
    this.#port = await this.#server.listen();
    this.driver.start();
  }

  async stop(): Promise<void> {
    this.driver.stop();
    await this.#server?.close();
    this.#server = null;
  }

  dispatch(frame: Buffer, connection: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    if (frame.length < 8) return this.#reject(connection, `request of ${frame.length} bytes has no header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const handler = this.#handlers.get(apiKey);
    if (handler === undefined) {
      return this.#reject(connection, `API key ${apiKey} is not served on the controller listener`);
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) {
        const body = {
          errorCode: KafkaErrors.UNSUPPORTED_VERSION.code,
          apiKeys: this.apiVersions(),
          throttleTimeMs: 0,
        };
        return { response: encodeResponse(API_VERSIONS_KEY, 0, correlationId, body) };
      }
      return this.#reject(connection, `${handler.name} v${apiVersion} is not supported`);
    }
    const lifecycle = LIFECYCLE_APIS.has(apiKey);
    let decoded: { header: { clientId: string | null }; body: Record<string, unknown> };
    try {
      if (lifecycle) {
        const { clientId, body } = decodeLifecycleRequest(frame);
        decoded = { header: { clientId }, body };
      } else decoded = decodeRequest(frame);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof RangeError) {
        return this.#reject(connection, `${handler.name} v${apiVersion}: ${error.message}`);
      }
      throw error;
    }
    const context = { apiVersion, clientId: decoded.header.clientId, node: this };
    const respond = (body: Record<string, unknown>): DispatchResult => ({
      response: lifecycle
        ? encodeLifecycleResponse(apiKey, apiVersion, correlationId, body)
        : encodeResponse(apiKey, apiVersion, correlationId, body),
    });
    const failed = (error: unknown): DispatchResult => {
      this.log.warn(
        `${handler.name} v${apiVersion} on the controller listener failed: ${(error as Error)?.stack}`,
      );
      return { response: null, close: true };
    };
    try {
      const outcome = handler.handle(decoded.body, context);
      return outcome instanceof Promise ? outcome.then(respond, failed) : respond(outcome);
    } catch (error) {
      return failed(error);
    }
  }

  #reject(connection: ConnectionInfo, reason: string): DispatchResult {
    this.log.warn(
      `controller connection ${connection.id} (${connection.remoteAddress}:${connection.remotePort}): ${reason}; closing`,
    );
    return { response: null, close: true };
  }
}

/** Parses `controller.quorum.voters` (`1@host:port,2@host:port,...`), naming the faulty entry. */
export function parseQuorumVoters(text: string): PeerAddress[] {
  const voters: PeerAddress[] = [];
  for (const entry of text.split(',').map((item) => item.trim())) {
    const match = /^(\d+)@(\[[^\]]+\]|[^:@]+):(\d+)$/.exec(entry);
    const port = Number(match?.[3]);
    if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(
        `controller.quorum.voters: '${entry}' is not NODE_ID@HOST:PORT (e.g. 1@127.0.0.1:9093)`,
      );
    }
    const nodeId = Number(match[1]);
    if (voters.some((voter) => voter.nodeId === nodeId)) {
      throw new Error(`controller.quorum.voters: node ${nodeId} is named twice`);
    }
    voters.push({ nodeId, host: match[2]!.replace(/^\[|\]$/g, ''), port });
  }
  return voters;
}
