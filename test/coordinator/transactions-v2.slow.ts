/**
 * Kafka's Java client (the reference's kafka-clients 4.1.1, test/coordinator/java/TransactionsV2.java)
 * running transactions against `kstack up` with the transaction version kstack finalizes: with
 * transaction.version 2 the client adds no partition itself (Produce v12 and TxnOffsetCommit v5 let
 * the leader and the group coordinator add them) and every EndTxn v5 bumps the epoch. Checked: the
 * finalized level the client reads, a commit, an abort and a commit by one producer (the partition's
 * producer epoch is then 3, one bump per transaction, as on Apache Kafka 4.1.1), a zombie fenced by a
 * second producer with the same transactional id (its next commit fails with
 * InvalidProducerEpochException, as on the reference), a consume-transform-produce loop with
 * sendOffsetsToTransaction, and read_committed reads holding exactly the committed records; and
 * Kafka's kafka-producer-perf-test in transactions of 20 ms (its pipelined batches kept in order).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kafkaLibsDir } from '../../reference/cluster.ts';
import { loadHandlers } from '../../src/broker/handlers/index.ts';
import { FEATURES, finalizedLevel } from '../../src/coordinator/features.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const KSTACK_PORT = 24820;
const START_TIMEOUT_MS = 100_000;
const JAVA_TIMEOUT_MS = 240_000;
const SOURCE = join(import.meta.dirname, 'java', 'TransactionsV2.java');
const LOG4J = join(import.meta.dirname, '..', '..', 'reference', 'tools-log4j2.properties');
const PERF_TEST = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-producer-perf-test');

/** Compiles the Java program once per source (cached in ~/.cache/kstack/txn-v2-java/<hash>). */
function compiled(libs: string): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const classes = join(homedir(), '.cache', 'kstack', 'txn-v2-java', hash);
  if (!existsSync(join(classes, 'TransactionsV2.class'))) {
    const tmp = `${classes}.tmp.${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    execFileSync('javac', ['-nowarn', '-d', tmp, '-cp', `${libs}/*`, SOURCE], { stdio: 'inherit' });
    rmSync(classes, { recursive: true, force: true });
    renameSync(tmp, classes);
  }
  return classes;
}

type JavaEvent = Record<string, unknown> & { event: string };

async function runJava(bootstrap: string, run: string): Promise<{ events: JavaEvent[]; stderr: string }> {
  const libs = kafkaLibsDir();
  const classes = compiled(libs);
  const { code, stdout, stderr } = await runTool(
    'java',
    [
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Dlog4j2.configurationFile=${LOG4J}`,
      '-cp',
      `${classes}:${libs}/*`,
      'TransactionsV2',
      bootstrap,
      run,
    ],
    { timeoutMs: JAVA_TIMEOUT_MS },
  );
  if (code !== 0) {
    throw new Error(`TransactionsV2 exited ${code ?? 'on SIGKILL'}:\n${stdout}\n${stderr.slice(-4000)}`);
  }
  const events = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as JavaEvent);
  return { events, stderr };
}

describe('the Java client with the transaction version kstack finalizes', { timeout: 400_000 }, () => {
  // The consume-transform-produce group starts without Kafka's 3 s initial rebalance delay.
  const broker = new BrokerProcess(KSTACK_PORT, undefined, [
    '--override',
    'group.initial.rebalance.delay.ms=0',
  ]);
  before(() => broker.start(START_TIMEOUT_MS));
  after(async () => {
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('commits, aborts, fences a zombie and runs consume-transform-produce exactly once', async () => {
    const transactionVersion = FEATURES.find((f) => f.name === 'transaction.version');
    assert.ok(transactionVersion);
    const level = finalizedLevel(transactionVersion, (await loadHandlers()).versions());
    const { events, stderr } = await runJava(broker.bootstrap, `t${process.pid}`);
    const one = (name: string) => {
      const found = events.filter((e) => e.event === name);
      assert.equal(found.length, 1, `${name} in ${JSON.stringify(events)}\n${stderr.slice(-2000)}`);
      return found[0]!;
    };
    assert.equal(
      one('features').transactionVersion,
      level,
      'the level the client reads is the one kstack serves',
    );
    // Three ended transactions: version 2 bumps the epoch at each (the markers carry it), 0 never.
    assert.equal(one('producer').epoch, level >= 2 ? 3 : 0);
    assert.equal(one('zombie').outcome, 'InvalidProducerEpochException');
    assert.deepEqual(one('etl').consumed, 20);
    assert.equal(one('groupOffset').offset, 20);
    const reads = events.filter((e) => e.event === 'read');
    assert.deepEqual(reads.find((e) => e.topic === 'data')?.values, [
      'commit-1-0',
      'commit-1-1',
      'commit-1-2',
      'commit-2-0',
      'successor-0',
    ]);
    assert.deepEqual(
      reads.find((e) => e.topic === 'out')?.values,
      Array.from({ length: 20 }, (_, i) => `R${i}`),
    );
    one('done');
  });

  it('keeps pipelined batches in order while their partition is added (kafka-producer-perf-test, 20 ms transactions)', async () => {
    // Five batches in flight, a transaction every 20 ms: right after each commit the first batch's
    // add waits on the coordinator. Before the adds kept each connection's order, a later batch was
    // appended first and the client failed with OutOfOrderSequenceException (every run at level 2).
    const result = await runTool(
      PERF_TEST,
      [
        '--topic',
        'txv2-perf',
        '--num-records',
        '20000',
        '--record-size',
        '100',
        '--throughput',
        '-1',
        '--transactional-id',
        'txv2-perf',
        '--transaction-duration-ms',
        '20',
        '--producer-props',
        `bootstrap.servers=${broker.bootstrap}`,
      ],
      { timeoutMs: 180_000 },
    );
    assert.equal(result.code, 0, result.stderr.slice(-4000));
    assert.match(result.stdout, /20000 records sent/);
  });
});
