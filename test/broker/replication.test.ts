/**
 * Replicated partitions in the broker data plane: three Broker instances in this process with
 * real sockets between them (follower Fetch v17 with ReplicaState) and real files, the
 * in-process stub controller (src/broker/replica-controller-stub.ts) as the only fake, and kcat
 * (librdkafka) as the client producing with acks=all and consuming back. Ports 21100-21102.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { StubController } from '../../src/broker/replica-controller-stub.ts';
import { uuidFromRandomBytes } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/codec.ts';
import { type Body, WireClient } from './compression-wire.ts';

const HOST = '127.0.0.1';
const PORTS: Record<number, number> = { 1: 21100, 2: 21101, 3: 21102 };
/** A TCP proxy on the followers' link to one leader, which a test can cut. */
const LINK_PROXY_PORT = 21103;
const TOPIC = 'replicated';
const TOPIC_ID = uuidFromRandomBytes(randomBytes(16));
/**
 * replica.lag.time.max.ms. A stopped broker leaves the ISR when its session expires (the stub
 * fences it), so this only bounds the cut-link test: its kcat run and the leader's stop must fit
 * in it on a loaded machine, before the leader shrinks the ISR to itself.
 */
const LAG_TIME_MS = 10_000;
const SESSION_TIMEOUT_MS = 4_000;
const WAIT_MS = 60_000;

const quiet = {
  info() {},
  warn(message: string) {
    process.stderr.write(`[broker] ${message}\n`);
  },
};

function run(
  command: string,
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let describeState = (): string => '';

/** Forwards connections to a target port; `cut` drops every connection and refuses new ones. */
class LinkProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  targetPort = 0;
  #cut = false;

  constructor() {
    this.#server = net.createServer((client) => {
      if (this.#cut || this.targetPort === 0) {
        client.destroy();
        return;
      }
      const upstream = net.connect({ host: HOST, port: this.targetPort });
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.#sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.#sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.#server.listen(port, HOST, () => resolve()));
  }

  set cut(value: boolean) {
    this.#cut = value;
    if (value) for (const socket of this.#sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.cut = true;
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${describeState()})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('replicated partitions: three brokers, acks=all, ISR, failover', { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'kstack-replication-'));
  const stub = new StubController({
    brokerIds: [1, 2, 3],
    topics: [{ name: TOPIC, topicId: TOPIC_ID, partitions: 1, configs: { 'min.insync.replicas': '2' } }],
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    tickMs: 50,
    nowMs: () => performance.now(),
  });
  const brokers = new Map<number, Broker>();
  const proxy = new LinkProxy();
  /** The leader whose followers fetch through the proxy (0: none). */
  let proxied = 0;
  /** Every value kcat reported as acknowledged. */
  const acknowledged: string[] = [];
  /** Every broker's info lines, prefixed with its node id. */
  const brokerLog: string[] = [];

  async function startBroker(id: number): Promise<Broker> {
    const broker = new Broker({
      dataDir: join(root, `broker-${id}`),
      host: HOST,
      port: PORTS[id]!,
      nodeId: id,
      log: {
        info: (message: string) => brokerLog.push(`${id}: ${message}`),
        warn: quiet.warn,
      },
      config: { 'replica.lag.time.max.ms': String(LAG_TIME_MS), 'auto.create.topics.enable': 'false' },
    });
    await broker.start();
    const brokerEpoch = stub.register(id, {
      host: HOST,
      port: broker.port,
      replay: (r) => broker.replayMetadata(r),
    });
    broker.startReplication({
      brokerEpoch,
      controller: stub,
      fetchBackoffMs: 100,
      heartbeatIntervalMs: 250,
      brokerAddress: (leader) => (leader === proxied ? { host: HOST, port: LINK_PROXY_PORT } : null),
    });
    brokers.set(id, broker);
    return broker;
  }

  async function stopBroker(id: number): Promise<void> {
    stub.disconnect(id);
    await brokers.get(id)?.stop();
    brokers.delete(id);
  }

  const state = () => stub.partitionState(TOPIC_ID, 0);
  describeState = () =>
    `controller: ${JSON.stringify(state())}; brokers: ${[...brokers.keys()]
      .map(
        (id) =>
          `${id} leo ${replica(id)?.log.logEndOffset} hw ${replica(id)?.highWatermarkNumber} leader ${replica(id)?.replication?.isLeader} epoch ${replica(id)?.leaderEpoch}`,
      )
      .join(', ')}`;
  const replica = (id: number) => brokers.get(id)?.get(TOPIC, 0);
  const bootstrap = () => [...brokers.keys()].map((id) => `${HOST}:${PORTS[id]}`).join(',');

  /** Produces values with kcat acks=all; returns the delivery errors kcat printed. */
  async function produce(values: string[], acks = 'all'): Promise<{ code: number; stderr: string }> {
    const result = await run(
      'kcat',
      [
        '-P',
        '-b',
        bootstrap(),
        '-t',
        TOPIC,
        '-p',
        '0',
        '-X',
        `acks=${acks}`,
        '-X',
        'message.timeout.ms=8000',
        '-X',
        'retries=0',
      ],
      `${values.join('\n')}\n`,
    );
    return { code: result.code, stderr: result.stderr };
  }

  async function consumeAll(): Promise<string[]> {
    const result = await run('kcat', [
      '-C',
      '-b',
      bootstrap(),
      '-t',
      TOPIC,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%s\n',
    ]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter((line) => line !== '');
  }

  before(async () => {
    await proxy.listen(LINK_PROXY_PORT);
    for (const id of [1, 2, 3]) await startBroker(id);
    await waitFor('a leader with the full ISR', () => {
      const s = state();
      return s.leader > 0 && s.isr.length === 3 && replica(s.leader)?.replication?.isLeader === true;
    });
  });

  after(async () => {
    for (const id of [...brokers.keys()]) await stopBroker(id);
    stub.close();
    await proxy.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('acks=all is acknowledged once every ISR member has the records; followers hold the same log', async () => {
    const values = Array.from({ length: 50 }, (_, i) => `a-${i}`);
    const result = await produce(values);
    assert.equal(result.code, 0, result.stderr);
    acknowledged.push(...values);
    const leader = state().leader;
    assert.equal(replica(leader)!.highWatermarkNumber, 50);
    await waitFor('followers at the leader end', () =>
      [1, 2, 3].every((id) => replica(id)!.log.logEndOffset === 50),
    );
    assert.deepEqual(await consumeAll(), acknowledged);
  });

  it('one follower stopped: the ISR shrinks and min ISR 2 still acknowledges; two stopped: NOT_ENOUGH_REPLICAS, nothing written', async () => {
    const leader = state().leader;
    const [first, second] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    await stopBroker(first);
    await waitFor('the ISR without the stopped follower', () => !state().isr.includes(first));
    const values = Array.from({ length: 20 }, (_, i) => `b-${i}`);
    const ok = await produce(values);
    assert.equal(ok.code, 0, ok.stderr);
    acknowledged.push(...values);
    await stopBroker(second);
    await waitFor('the ISR down to the leader', () => state().isr.length === 1);
    const before = replica(leader)!.log.logEndOffset;
    const refused = await produce(['c-refused']);
    assert.match(refused.stderr, /Not enough in-sync replicas/i);
    assert.equal(replica(leader)!.log.logEndOffset, before, 'nothing written');
    await startBroker(first);
    await startBroker(second);
    await waitFor('the ISR whole again', () => state().isr.length === 3);
    await waitFor('followers caught up', () =>
      [1, 2, 3].every((id) => replica(id)!.log.logEndOffset === before),
    );
  });

  it('the leader stopped: a new leader from the ISR keeps every acknowledged record; the old one comes back and follows', async () => {
    const old = state().leader;
    const oldEpoch = state().leaderEpoch;
    await stopBroker(old);
    await waitFor(
      'a new leader',
      () => state().leader !== old && state().leader > 0 && state().leaderEpoch > oldEpoch,
    );
    await waitFor('the new leader serving', () => replica(state().leader)?.replication?.isLeader === true);
    const values = Array.from({ length: 30 }, (_, i) => `d-${i}`);
    const result = await produce(values);
    assert.equal(result.code, 0, result.stderr);
    acknowledged.push(...values);
    assert.deepEqual(await consumeAll(), acknowledged, 'every acknowledged record, once, in order');
    await startBroker(old);
    await waitFor('the old leader back in the ISR', () => state().isr.includes(old));
    const end = replica(state().leader)!.log.logEndOffset;
    await waitFor('the old leader at the new leader end', () => replica(old)!.log.logEndOffset === end);
    assert.equal(
      replica(old)!.log.endOffsetForEpoch(oldEpoch).endOffset,
      replica(state().leader)!.log.endOffsetForEpoch(oldEpoch).endOffset,
    );
  });

  it('followers refuse clients (NOT_LEADER_OR_FOLLOWER); the leader answers OffsetForLeaderEpoch from its epoch cache and fences a stale follower epoch', async () => {
    const { leader, leaderEpoch } = state();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const onFollower = await WireClient.connect(PORTS[follower]!);
    const onLeader = await WireClient.connect(PORTS[leader]!);
    try {
      type Partitions = { partitions: Body[] }[];
      const listed = await onFollower.call<{ topics: Partitions }>(2, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          { name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
        ],
      });
      assert.equal(listed.topics[0]?.partitions[0]?.errorCode, 6);
      const fetchBody = (extra: Body, partition: Body): Body => ({
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1_000_000,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: TOPIC,
            topicId: TOPIC_ID,
            partitions: [
              {
                partition: 0,
                fetchOffset: 0n,
                logStartOffset: -1n,
                partitionMaxBytes: 1_000_000,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                ...partition,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
        ...extra,
      });
      const consumed = await onFollower.call<{ responses: Partitions }>(1, 12, fetchBody({}, {}));
      assert.equal(consumed.responses[0]?.partitions[0]?.errorCode, 6);
      const epochs = await onLeader.call<{ topics: Partitions }>(23, 4, {
        replicaId: -1,
        topics: [
          {
            topic: TOPIC,
            partitions: [{ partition: 0, currentLeaderEpoch: leaderEpoch, leaderEpoch: leaderEpoch - 1 }],
          },
        ],
      });
      const expected = replica(leader)!.log.endOffsetForEpoch(leaderEpoch - 1);
      assert.equal(epochs.topics[0]?.partitions[0]?.errorCode, 0);
      assert.equal(epochs.topics[0]?.partitions[0]?.endOffset, BigInt(expected.endOffset));
      const stale = await onLeader.call<{ responses: Partitions }>(
        1,
        17,
        fetchBody(
          { replicaState: { replicaId: follower, replicaEpoch: BigInt(stub.brokerEpoch(follower)) } },
          { currentLeaderEpoch: leaderEpoch - 1, fetchOffset: 0n },
        ),
      );
      assert.equal(stale.responses[0]?.partitions[0]?.errorCode, 74, 'FENCED_LEADER_EPOCH');
    } finally {
      onFollower.close();
      onLeader.close();
    }
  });

  it('a leader cut off from its followers takes acks=1 records, dies; the new leader goes on; the old one comes back and truncates its tail by epoch', async () => {
    const old = state().leader;
    const oldEpoch = state().leaderEpoch;
    const start = replica(old)!.log.logEndOffset;
    await waitFor('followers at the leader end', () =>
      [1, 2, 3].every((id) => replica(id)!.log.logEndOffset === start),
    );
    // From now on the followers reach the leader only through the proxy, which is cut.
    proxied = old;
    proxy.targetPort = PORTS[old]!;
    proxy.cut = true;
    // Connections made before the cut go direct: restart the followers' links by cutting them.
    for (const id of [1, 2, 3]) if (id !== old) brokers.get(id)!.replicaManager!.resetFetchers();
    const tail = Array.from({ length: 10 }, (_, i) => `t-${i}`);
    const written = await produce(tail, '1');
    assert.equal(written.code, 0, written.stderr);
    assert.equal(replica(old)!.log.logEndOffset, start + 10, 'the tail is on the old leader only');
    assert.ok([1, 2, 3].every((id) => id === old || replica(id)!.log.logEndOffset === start));
    await stopBroker(old);
    await waitFor('a new leader', () => state().leader !== old && state().leader > 0);
    await waitFor('the new leader serving', () => replica(state().leader)?.replication?.isLeader === true);
    const values = Array.from({ length: 5 }, (_, i) => `u-${i}`);
    const result = await produce(values);
    assert.equal(result.code, 0, result.stderr);
    acknowledged.push(...values);
    proxied = 0;
    await startBroker(old);
    const leader = state().leader;
    await waitFor(
      'the old leader at the new leader end',
      () => replica(old)!.log.logEndOffset === replica(leader)!.log.logEndOffset,
    );
    await waitFor('the old leader back in the ISR', () => state().isr.includes(old));
    assert.ok(
      brokerLog.some(
        (line) => line.startsWith(`${old}: `) && line.includes(`truncating to ${start} (diverging epoch)`),
      ),
      'the old leader truncated by the diverging epoch',
    );
    assert.equal(
      replica(old)!.log.endOffsetForEpoch(oldEpoch).endOffset,
      start,
      'its epoch ends where the new leader says',
    );
    assert.deepEqual(
      await consumeAll(),
      acknowledged,
      'the unreplicated acks=1 tail is gone, nothing acknowledged by acks=all lost',
    );
  });

  it('acks=all while the followers cannot fetch: REQUEST_TIMED_OUT at the request timeout with the HW frozen; once healed the record commits', async () => {
    const leader = state().leader;
    const end = replica(leader)!.log.logEndOffset;
    await waitFor('followers at the leader end', () =>
      [1, 2, 3].every((id) => replica(id)!.log.logEndOffset === end),
    );
    proxied = leader;
    proxy.targetPort = PORTS[leader]!;
    proxy.cut = true;
    for (const id of [1, 2, 3]) if (id !== leader) brokers.get(id)!.replicaManager!.resetFetchers();
    const client = await WireClient.connect(PORTS[leader]!);
    try {
      const records = await encodeRecordBatch({
        records: [{ timestamp: Date.now(), key: null, value: Buffer.from('w-0') }],
      });
      const started = performance.now();
      const answer = await client.call<{ responses: { partitionResponses: Body[] }[] }>(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1_500,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
      });
      const elapsedMs = performance.now() - started;
      assert.equal(answer.responses[0]?.partitionResponses[0]?.errorCode, 7, 'REQUEST_TIMED_OUT');
      assert.ok(elapsedMs >= 1_400, `answered after ${elapsedMs} ms, before the request timeout`);
      assert.equal(replica(leader)!.log.logEndOffset, end + 1, 'written on the leader');
      assert.equal(replica(leader)!.highWatermarkNumber, end, 'not committed');
      assert.equal(state().isr.length, 3, 'the ISR is unchanged within replica.lag.time.max.ms');
      // A consumer reads below the HW only: the uncommitted record is not served.
      const consumed = await client.call<{ responses: { partitions: Body[] }[] }>(1, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1_000_000,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: TOPIC,
            partitions: [
              {
                partition: 0,
                fetchOffset: BigInt(end),
                logStartOffset: -1n,
                partitionMaxBytes: 1_000_000,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const partition = consumed.responses[0]?.partitions[0];
      assert.equal(partition?.errorCode, 0);
      assert.equal(partition?.highWatermark, BigInt(end));
      const served = partition?.records as Uint8Array | null;
      assert.ok(served === null || served.length === 0, 'nothing above the HW');
    } finally {
      client.close();
    }
    proxy.cut = false;
    await waitFor('the record committed once healed', () => replica(leader)!.highWatermarkNumber === end + 1);
    proxied = 0;
  });

  it('min.insync.replicas changed by IncrementalAlterConfigs applies at once: 4 on RF 3 refuses acks=all, back to 2 accepts', async () => {
    const leader = state().leader;
    const client = await WireClient.connect(PORTS[leader]!);
    const setMinIsr = async (value: string): Promise<void> => {
      const answer = await client.call<{ responses: Body[] }>(44, 0, {
        resources: [
          {
            resourceType: 2,
            resourceName: TOPIC,
            configs: [{ name: 'min.insync.replicas', configOperation: 0, value }],
          },
        ],
        validateOnly: false,
      });
      assert.equal(answer.responses[0]?.errorCode, 0, JSON.stringify(answer));
    };
    try {
      await setMinIsr('4');
      const end = replica(leader)!.log.logEndOffset;
      const refused = await produce(['m-refused']);
      assert.match(refused.stderr, /Not enough in-sync replicas/i);
      assert.equal(replica(leader)!.log.logEndOffset, end, 'nothing written');
      await setMinIsr('2');
      const accepted = await produce(['m-0']);
      assert.equal(accepted.code, 0, accepted.stderr);
    } finally {
      client.close();
    }
  });
});
