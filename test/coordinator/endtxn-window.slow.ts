/**
 * EndTxn while the previous EndTxn's markers are still being written (issue 13: franz-go's
 * TestTxnEtl on three nodes sends EndTxn abort 5 ms after its commit was answered). On three
 * nodes, asked on the wire of kstack (three in-process nodes) and of the three-node Apache Kafka
 * 4.1.1 reference alike: InitProducerId, AddPartitionsToTxn v3 of an RF 3 partition, then EndTxn
 * commit and, pipelined on the same connection (the broker reads it the moment the commit is
 * answered: the tightest window a client can make), EndTxn abort. With EndTxn v5 (transaction
 * version 2: each EndTxn bumps the epoch) the abort carries the epoch the commit answers, or the
 * one before it; with v4 the one epoch. The markers go to three replicas each, so the abort meets
 * the transaction in PrepareCommit (its markers pending) or already CompleteCommit; each round is
 * repeated ROUNDS_MAX times and every answer is checked. KSTACK_REFERENCE_NODES=3 asks the
 * three-node reference the same (by hand: CI has no time for a second three-node cluster here).
 * The reference answered every pipelined abort CONCURRENT_TRANSACTIONS (retriable), in all three
 * variants (30 of 30 rounds each, then 10 of 10 in each of four runs); kstack answered
 * INVALID_TXN_STATE (fatal to franz-go) until its coordinator checked a pending transition first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { addPartitionToTxn, clientTo, initProducerId, send } from './raw-requests.ts';

const BROKER_PORTS = [25830, 25831, 25832] as const;
const CONTROLLER_PORTS = [25880, 25881, 25882] as const;
/** The reference's brokers 25833-25835 (controllers 25883-25885). */
const REFERENCE_BASE_PORT = 25833;
const WAIT_MS = 120_000;
/** Rounds per variant (each a fresh transactional id). */
const ROUNDS_MAX = 10;
const TOPIC = 'endtxn-window';

interface Target {
  readonly title: string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function kstackTarget(): Target {
  let cluster: TestCluster | undefined;
  return {
    title: 'kstack (three in-process nodes)',
    port: BROKER_PORTS[0],
    async start() {
      cluster = await startCluster({
        ports: BROKER_PORTS,
        controllerPorts: CONTROLLER_PORTS,
        config: { 'default.replication.factor': '3', 'min.insync.replicas': '2' },
        waitMs: WAIT_MS,
      });
    },
    stop: async () => cluster?.stop(),
  };
}

function referenceTarget(): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-endtxn-ref-'));
  const cluster = new ReferenceCluster({ nodes: 3, basePort: REFERENCE_BASE_PORT, dataDir });
  return {
    title: 'Apache Kafka (three-node reference)',
    port: REFERENCE_BASE_PORT,
    start: () => cluster.start(),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Which epoch the pipelined abort carries. */
type AbortEpoch = 'answered' | 'previous';

interface Round {
  commit: { errorCode: number; producerEpoch: number };
  abort: { errorCode: number; producerEpoch: number };
  /** The transaction's producer epoch before the commit. */
  epoch: number;
  /** The same abort's first answer other than CONCURRENT_TRANSACTIONS, sent again after the window. */
  retried: number;
}

/** One transaction: added partition, commit, and at once an abort. */
async function round(
  bootstrap: ControllerClient,
  transactionalId: string,
  endTxnVersion: number,
  abortEpoch: AbortEpoch,
): Promise<Round> {
  const coordinator = await until(`FindCoordinator ${transactionalId}`, async () => {
    const found = await send(bootstrap, 10, 4, { keyType: 1, coordinatorKeys: [transactionalId] });
    const entry = (found.coordinators as MessageValue[])[0];
    return entry?.errorCode === ErrorCode.NONE ? (entry.port as number) : undefined;
  });
  const client = clientTo(coordinator, `endtxn-window-${transactionalId}`);
  try {
    const producer = await until('InitProducerId', () => initProducerId(client, transactionalId));
    const producerId = producer.producerId as bigint;
    const epoch = producer.producerEpoch as number;
    await addPartitionToTxn(client, transactionalId, producerId, epoch, TOPIC, 0);
    const bumps = endTxnVersion >= 5 ? 1 : 0;
    const commit = send(client, 26, endTxnVersion, {
      transactionalId,
      producerId,
      producerEpoch: epoch,
      committed: true,
    });
    const abort = send(client, 26, endTxnVersion, {
      transactionalId,
      producerId,
      producerEpoch: abortEpoch === 'answered' ? epoch + bumps : epoch,
      committed: false,
    });
    const [committed, aborted] = await Promise.all([commit, abort]);
    // The client's next step on CONCURRENT_TRANSACTIONS: the same abort again once the commit completed.
    const retried = await until('the abort retried after the window', async () => {
      const answer = await send(client, 26, endTxnVersion, {
        transactionalId,
        producerId,
        producerEpoch: abortEpoch === 'answered' ? epoch + bumps : epoch,
        committed: false,
      });
      return answer.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS
        ? undefined
        : (answer.errorCode as number);
    });
    return {
      epoch,
      retried,
      commit: {
        errorCode: committed.errorCode as number,
        producerEpoch: (committed.producerEpoch as number | undefined) ?? -1,
      },
      abort: {
        errorCode: aborted.errorCode as number,
        producerEpoch: (aborted.producerEpoch as number | undefined) ?? -1,
      },
    };
  } finally {
    client.close();
  }
}

const VARIANTS: readonly { endTxnVersion: number; abortEpoch: AbortEpoch }[] = [
  { endTxnVersion: 5, abortEpoch: 'answered' },
  { endTxnVersion: 5, abortEpoch: 'previous' },
  { endTxnVersion: 4, abortEpoch: 'answered' },
];

for (const target of [
  kstackTarget(),
  ...(process.env.KSTACK_REFERENCE_NODES === '3' ? [referenceTarget()] : []),
]) {
  describe(`EndTxn abort right after a commit on three nodes: ${target.title}`, { timeout: 600_000 }, () => {
    let bootstrap: ControllerClient;
    before(
      async () => {
        await target.start();
        bootstrap = clientTo(target.port, 'endtxn-window');
        const created = await send(bootstrap, 19, 7, {
          topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
          timeoutMs: 30_000,
        });
        assert.equal((created.topics as MessageValue[])[0]?.errorCode, ErrorCode.NONE, 'CreateTopics');
      },
      { timeout: 300_000 },
    );
    after(
      async () => {
        bootstrap?.close();
        await target.stop();
      },
      { timeout: 120_000 },
    );

    for (const { endTxnVersion, abortEpoch } of VARIANTS) {
      it(`EndTxn v${endTxnVersion}, the abort with the ${abortEpoch} epoch`, async () => {
        const seen: Round[] = [];
        for (let i = 0; i < ROUNDS_MAX; i += 1) {
          seen.push(
            await round(bootstrap, `endtxn-${endTxnVersion}-${abortEpoch}-${i}`, endTxnVersion, abortEpoch),
          );
        }
        console.log(JSON.stringify({ target: target.title, endTxnVersion, abortEpoch, seen }));
        // EndTxn v4 answers no epoch (-1 here); v5 the one it bumped to.
        for (const { commit, epoch } of seen) {
          const producerEpoch = endTxnVersion >= 5 ? epoch + 1 : -1;
          assert.deepEqual(commit, { errorCode: ErrorCode.NONE, producerEpoch });
        }
        const inWindow = seen.filter(({ abort }) => abort.errorCode !== ErrorCode.NONE);
        // Both engines answered every pipelined abort CONCURRENT_TRANSACTIONS (the markers still
        // pending); one that missed the window may find the commit complete and be answered NONE.
        assert.ok(inWindow.length > 0, 'no abort met the commit still writing its markers');
        for (const { abort } of inWindow) {
          assert.deepEqual(abort, { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerEpoch: -1 });
        }
        // Once complete, the reference aborts anew (TV2, an empty transaction under the next epoch)
        // only for the epoch the commit answered; the previous epoch or v4 find CompleteCommit and
        // get INVALID_TXN_STATE.
        const afterwards =
          endTxnVersion >= 5 && abortEpoch === 'answered' ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        assert.deepEqual(
          seen.map(({ retried }) => retried),
          seen.map(() => afterwards),
        );
      });
    }
  });
}
