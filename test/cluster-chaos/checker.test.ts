// The scenario-23 checker on hand-made histories: a clean one passes, and each anomaly, made on
// purpose, is found under its own name and no other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Anomalies,
  type ChaosEvent,
  check,
  describeAnomalies,
  type PollEvent,
  type SendEvent,
} from './checker.ts';

const send = (seq: number, partition: number, offset: number, value: string, session = 'p1'): SendEvent => ({
  kind: 'send',
  session,
  seq,
  partition,
  offset,
  value,
});
const poll = (partition: number, offset: number, value: string, session = 'c1'): PollEvent => ({
  kind: 'poll',
  session,
  partition,
  offset,
  value,
});

/** Two partitions, three writes each, read in order by two consumers. */
const CLEAN: ChaosEvent[] = [
  send(0, 0, 0, 'a'),
  send(1, 1, 0, 'b'),
  send(2, 0, 1, 'c'),
  send(3, 1, 1, 'd'),
  send(4, 0, 2, 'e'),
  send(5, 1, 2, 'f'),
  ...[poll(0, 0, 'a'), poll(1, 0, 'b'), poll(0, 1, 'c'), poll(0, 2, 'e'), poll(1, 1, 'd'), poll(1, 2, 'f')],
  ...['a', 'c', 'e'].map((value, offset) => poll(0, offset, value, 'drain')),
  ...['b', 'd', 'f'].map((value, offset) => poll(1, offset, value, 'drain')),
];

/** The kinds of anomaly `history` shows. */
function kinds(history: ChaosEvent[]): (keyof Anomalies)[] {
  const { anomalies } = check(history);
  return (Object.keys(anomalies) as (keyof Anomalies)[]).filter((kind) => anomalies[kind].length > 0);
}

/** CLEAN without the polls `drop` matches, with `extra` events added. */
function changed(drop: (event: ChaosEvent) => boolean, ...extra: ChaosEvent[]): ChaosEvent[] {
  return [...CLEAN.filter((event) => !drop(event)), ...extra];
}

test('a clean history has no anomaly', () => {
  const result = check(CLEAN);
  assert.deepEqual(kinds(CLEAN), []);
  assert.equal(describeAnomalies(result.anomalies), '');
  assert.deepEqual([result.acknowledged, result.polled, result.valuesRead], [6, 12, 6]);
});

test('lost: an acknowledged value no session read, below what reads of its partition reached', () => {
  const history = changed((event) => event.kind === 'poll' && event.value === 'c');
  // c at 0:1 never read while 0:2 was: lost, and the reads of 0 skip 0:1 (which c's ack holds).
  assert.deepEqual(kinds(history), ['lost', 'pollSkip']);
  assert.match(
    describeAnomalies(check(history).anomalies),
    /lost: 1 \(c acknowledged at 0:1 by p1, never read\)/,
  );
});

test('unseen: an acknowledged value beyond every read of its partition', () => {
  const history = [...CLEAN, send(6, 0, 3, 'g')];
  assert.deepEqual(kinds(history), ['unseen']);
});

test('duplicate: one value at two offsets', () => {
  const history = [...CLEAN, send(6, 0, 3, 'g'), poll(0, 3, 'g', 'drain'), poll(0, 4, 'g', 'drain')];
  assert.deepEqual(kinds(history), ['duplicate']);
  assert.match(describeAnomalies(check(history).anomalies), /duplicate: 1 \(g at 0:3, 0:4\)/);
});

test('inconsistent offset: one offset read holding a value other than the acknowledged one', () => {
  // A second session reads x where e was acknowledged; e itself was still read by c1 and drain.
  const history = [...CLEAN, poll(0, 2, 'x', 'c2')];
  assert.deepEqual(kinds(history), ['inconsistentOffset']);
  assert.match(describeAnomalies(check(history).anomalies), /0:2 holds e, x/);
});

test('poll-skip: a session jumps over an offset that another read saw', () => {
  const history = changed((event) => event.kind === 'poll' && event.session === 'c1' && event.value === 'd');
  assert.deepEqual(kinds(history), ['pollSkip']);
  assert.match(describeAnomalies(check(history).anomalies), /c1 partition 1 read offset 0 then 2/);
});

test('a gap no observation holds (a transaction marker, an unacknowledged write nobody read) is no skip', () => {
  const history = [send(0, 0, 0, 'a'), send(1, 0, 2, 'b'), poll(0, 0, 'a'), poll(0, 2, 'b')];
  assert.deepEqual(kinds(history), []);
});

test('non-monotonic poll: a session reads an offset at or below one it read before', () => {
  const history = [...CLEAN, poll(0, 1, 'c')];
  assert.deepEqual(kinds(history), ['nonMonotonicPoll']);
  // Another session starting over is not one.
  assert.deepEqual(kinds([...CLEAN, poll(0, 0, 'a', 'c3')]), []);
});

test('non-monotonic send: a later send of one producer session acknowledged at a lower offset', () => {
  const history: ChaosEvent[] = [
    send(0, 0, 1, 'a'),
    send(1, 0, 0, 'b'),
    poll(0, 0, 'b', 'drain'),
    poll(0, 1, 'a', 'drain'),
  ];
  assert.deepEqual(kinds(history), ['nonMonotonicSend']);
  // Two producer sessions interleave freely.
  assert.deepEqual(
    kinds([send(0, 0, 1, 'a'), send(1, 0, 0, 'b', 'p2'), poll(0, 0, 'b'), poll(0, 1, 'a')]),
    [],
  );
});
