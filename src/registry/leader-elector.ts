/**
 * Leader election for Schema Registry instances through Kafka group membership, as Confluent's
 * `KafkaGroupLeaderElector` does: every instance joins one classic group (protocol type `sr`)
 * with its identity as metadata, the member the coordinator makes group leader assigns the
 * registry leader (leader-protocol.ts), and heartbeats keep the membership. A rebalance (a member
 * joins, leaves, or misses heartbeats for the session timeout) forgets the leader until the new
 * assignment arrives, so no instance believes itself leader through a rebalance.
 *
 * @platformatic/kafka's Consumer always joins with protocol type `consumer` and its own metadata,
 * so the group requests (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup) are sent
 * with the library's request/response codecs over its connections.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionPool,
  findCoordinatorV6,
  heartbeatV4,
  joinGroupV9,
  leaveGroupV5,
  syncGroupV5,
} from '@platformatic/kafka';
import { guardPoolConnectionErrors } from '../common/kafka-connections.ts';
import {
  ASSIGNMENT_DUPLICATE_URLS,
  ASSIGNMENT_NO_ERROR,
  chooseLeader,
  decodeAssignment,
  decodeIdentity,
  encodeAssignment,
  encodeIdentity,
  GROUP_PROTOCOL_NAME,
  GROUP_PROTOCOL_TYPE,
  type GroupMember,
  identityUrl,
  type RegistryIdentity,
} from './leader-protocol.ts';
import { describeError } from './schema-log.ts';

/** Confluent's defaults (`kafkagroup.session.timeout.ms`, `kafkagroup.heartbeat.interval.ms`). */
export const GROUP_SESSION_TIMEOUT_MS = 10_000;
export const GROUP_HEARTBEAT_INTERVAL_MS = 3_000;
/**
 * How long the coordinator waits for every member to rejoin in a rebalance. Lower than Confluent's
 * 300 s so that a JoinGroup (which blocks for up to this long) stays within a bounded request time.
 */
export const GROUP_REBALANCE_TIMEOUT_MS = 60_000;
/** Pause after a failed group request before the next attempt. */
const GROUP_RETRY_BACKOFF_MS = 500;
/** How long closing waits for LeaveGroup before it drops the connection. */
const LEAVE_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

const COORDINATOR_KEY_GROUP = 0;
/** Kafka error codes that change what the member does next. */
const COORDINATOR_LOAD_IN_PROGRESS = 14;
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;
const ILLEGAL_GENERATION = 22;
const UNKNOWN_MEMBER_ID = 25;
const REBALANCE_IN_PROGRESS = 27;
const MEMBER_ID_REQUIRED = 79;

export interface LeaderElectorOptions {
  readonly bootstrap: string;
  readonly groupId: string;
  readonly identity: RegistryIdentity;
  /** Called with the leader of each completed rebalance, and with null when a rebalance starts. */
  readonly onLeader: (leader: RegistryIdentity | null) => void;
  readonly log?: (line: string) => void;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
}

interface KafkaFailure {
  readonly code: number | undefined;
  readonly response: Record<string, unknown> | undefined;
}

function failureOf(error: unknown): KafkaFailure {
  const e = error as { response?: Record<string, unknown>; errors?: { apiCode?: number }[] } | null;
  const code = e?.errors?.find((inner) => typeof inner.apiCode === 'number')?.apiCode;
  return { code, response: e?.response };
}

export class LeaderElector {
  readonly #options: LeaderElectorOptions;
  readonly #brokers: { host: string; port: number }[];
  readonly #abort = new AbortController();
  #pool: ConnectionPool | null = null;
  #coordinator: { host: string; port: number } | null = null;
  #memberId = '';
  #generation = -1;
  #loop: Promise<void> | null = null;
  #joined: { resolve: () => void; promise: Promise<void> };
  /** Completed rebalances: how many assignments this member received. */
  assignments = 0;
  lastError: string | null = null;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#brokers = options.bootstrap.split(',').map((address) => {
      const at = address.trim().lastIndexOf(':');
      return { host: address.trim().slice(0, at), port: Number(address.trim().slice(at + 1)) };
    });
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.#joined = { resolve, promise };
  }

  get memberId(): string {
    return this.#memberId;
  }

  /** Starts taking part in the group; resolves after the first assignment, rejects after `timeoutMs`. */
  async start(timeoutMs: number): Promise<void> {
    this.#loop = this.#run();
    // Its own signal, so the timer does not outlive the start (and hold the process open).
    const wait = new AbortController();
    const stopWaiting = () => wait.abort();
    this.#abort.signal.addEventListener('abort', stopWaiting, { once: true });
    const timer = sleep(timeoutMs, 'timeout' as const, { signal: wait.signal }).catch(
      () => 'closed' as const,
    );
    const outcome = await Promise.race([this.#joined.promise.then(() => 'joined' as const), timer]);
    wait.abort();
    this.#abort.signal.removeEventListener('abort', stopWaiting);
    if (outcome !== 'joined') {
      throw new Error(
        `joining group '${this.#options.groupId}' took longer than ${timeoutMs} ms${this.lastError === null ? '' : `: ${this.lastError}`}`,
      );
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    const pool = this.#pool;
    if (pool !== null && this.#coordinator !== null && this.#memberId !== '') {
      try {
        const connection = await pool.get(this.#coordinator);
        await Promise.race([
          leaveGroupV5.api.async(connection, this.#options.groupId, [
            { memberId: this.#memberId, groupInstanceId: null, reason: 'the registry is stopping' },
          ]),
          sleep(LEAVE_TIMEOUT_MS),
        ]);
      } catch {
        // The coordinator forgets the member after its session timeout anyway.
      }
    }
    await this.#dropConnections();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        await this.#findCoordinator();
        const assignment = await this.#joinAndSync();
        this.#deliver(assignment);
        await this.#heartbeatUntilRebalance();
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.lastError = describeError(error);
        this.#options.onLeader(null);
        const { code } = failureOf(error);
        if (code === UNKNOWN_MEMBER_ID) this.#memberId = '';
        if (code === undefined || code === NOT_COORDINATOR || code === COORDINATOR_NOT_AVAILABLE) {
          // A network failure or a moved coordinator: start again from the bootstrap servers.
          this.#coordinator = null;
          await this.#dropConnections();
        }
        await sleep(GROUP_RETRY_BACKOFF_MS, undefined, { signal: this.#abort.signal }).catch(() => {});
      }
    }
  }

  #poolNow(): ConnectionPool {
    if (this.#pool === null) {
      this.#pool = guardPoolConnectionErrors(
        new ConnectionPool('kstack-schema-registry-group', {
          connectTimeout: CONNECT_TIMEOUT_MS,
          // A JoinGroup waits for the whole rebalance.
          requestTimeout: (this.#options.rebalanceTimeoutMs ?? GROUP_REBALANCE_TIMEOUT_MS) + 10_000,
        }),
      );
    }
    return this.#pool;
  }

  async #dropConnections(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close().catch(() => {});
  }

  async #findCoordinator(): Promise<void> {
    if (this.#coordinator !== null) return;
    const connection = await this.#poolNow().getFirstAvailable(this.#brokers);
    const response = await findCoordinatorV6.api.async(connection, COORDINATOR_KEY_GROUP, [
      this.#options.groupId,
    ]);
    const found = response.coordinators[0];
    if (found === undefined)
      throw new Error(`FindCoordinator named no coordinator for '${this.#options.groupId}'`);
    this.#coordinator = { host: found.host, port: found.port };
  }

  async #joinAndSync(): Promise<RegistryIdentity | null> {
    const coordinator = this.#coordinator;
    if (coordinator === null) throw new Error('no group coordinator');
    const connection = await this.#poolNow().get(coordinator);
    const join = (memberId: string) =>
      joinGroupV9.api.async(
        connection,
        this.#options.groupId,
        this.#options.sessionTimeoutMs ?? GROUP_SESSION_TIMEOUT_MS,
        this.#options.rebalanceTimeoutMs ?? GROUP_REBALANCE_TIMEOUT_MS,
        memberId,
        null,
        GROUP_PROTOCOL_TYPE,
        [{ name: GROUP_PROTOCOL_NAME, metadata: encodeIdentity(this.#options.identity) }],
        null,
      );
    let joined: Awaited<ReturnType<typeof join>>;
    try {
      joined = await join(this.#memberId);
    } catch (error) {
      // Since JoinGroup v4 a new member first learns its id from this error, then joins with it.
      const { code, response } = failureOf(error);
      if (code !== MEMBER_ID_REQUIRED || typeof response?.memberId !== 'string') throw error;
      this.#memberId = response.memberId;
      joined = await join(this.#memberId);
    }
    this.#memberId = joined.memberId;
    this.#generation = joined.generationId;
    let assignments: { memberId: string; assignment: Buffer }[] = [];
    if (joined.leader === joined.memberId && !joined.skipAssignment) {
      const members: GroupMember[] = [];
      for (const member of joined.members) {
        try {
          members.push({ memberId: member.memberId, identity: decodeIdentity(member.metadata) });
        } catch (error) {
          this.#options.log?.(
            `group member ${member.memberId} sent metadata we cannot read: ${(error as Error).message}`,
          );
        }
      }
      const assignment = encodeAssignment(chooseLeader(members));
      assignments = joined.members.map((member) => ({ memberId: member.memberId, assignment }));
    }
    const synced = await syncGroupV5.api.async(
      connection,
      this.#options.groupId,
      this.#generation,
      this.#memberId,
      null,
      GROUP_PROTOCOL_TYPE,
      GROUP_PROTOCOL_NAME,
      assignments,
    );
    const assignment = decodeAssignment(synced.assignment);
    if (assignment.error === ASSIGNMENT_DUPLICATE_URLS) {
      throw new Error(
        `two members of group '${this.#options.groupId}' advertise the same URL: give each instance its own host name or port`,
      );
    }
    if (assignment.error !== ASSIGNMENT_NO_ERROR) {
      throw new Error(`the group's assignment carries unknown error ${assignment.error}`);
    }
    return assignment.leader;
  }

  #deliver(leader: RegistryIdentity | null): void {
    this.assignments += 1;
    this.lastError = null;
    this.#options.log?.(
      leader === null
        ? `group '${this.#options.groupId}' generation ${this.#generation}: no leader-eligible member, writes are refused`
        : `group '${this.#options.groupId}' generation ${this.#generation}: leader ${identityUrl(leader)}`,
    );
    this.#options.onLeader(leader);
    this.#joined.resolve();
  }

  /** Heartbeats until the coordinator asks for a rejoin; returns then (or throws on other errors). */
  async #heartbeatUntilRebalance(): Promise<void> {
    const interval = this.#options.heartbeatIntervalMs ?? GROUP_HEARTBEAT_INTERVAL_MS;
    for (;;) {
      await sleep(interval, undefined, { signal: this.#abort.signal });
      const coordinator = this.#coordinator;
      if (coordinator === null) return;
      try {
        const connection = await this.#poolNow().get(coordinator);
        await heartbeatV4.api.async(
          connection,
          this.#options.groupId,
          this.#generation,
          this.#memberId,
          null,
        );
      } catch (error) {
        const { code } = failureOf(error);
        if (code === REBALANCE_IN_PROGRESS || code === ILLEGAL_GENERATION) {
          // Confluent's non-sticky election: the leader is unknown until the rebalance completes.
          this.#options.onLeader(null);
          return;
        }
        if (code === COORDINATOR_LOAD_IN_PROGRESS) continue;
        throw error;
      }
    }
  }
}
