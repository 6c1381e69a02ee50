// Scenario 23's checker (issue 12): Jepsen's checks for a Kafka-like log over one history of
// acknowledged sends and consumer polls, pure (no sockets, no clocks), so it is tested on
// hand-made histories (checker.test.ts) before it judges a real run (chaos.slow.ts).
//
// A history holds two kinds of observation of (partition, offset) → value:
// - `send`: a producer session's write, acknowledged at that offset (`seq`: its send order);
// - `poll`: a consumer session read that record, in the order the session read them.
// Values are unique per write. The anomalies (Jepsen's names, facts file §4):
// - lost: an acknowledged value never read, at an offset below what some read of its partition
//   reached (the log moved past it without it);
// - unseen: an acknowledged value never read, its offset beyond every read (after a final drain
//   that reads every partition to its end, an unseen write is as bad as a lost one);
// - duplicate: one value observed at two offsets;
// - inconsistent offset: one offset observed holding two values;
// - poll-skip: a session read offset a then b > a + 1 of a partition while some observation
//   holds an offset between them;
// - non-monotonic poll: a session read offset a then b <= a of a partition;
// - non-monotonic send: a producer session's acknowledged offsets of a partition do not rise with
//   its send order.

export interface SendEvent {
  readonly kind: 'send';
  /** The producer session (one producer instance: idempotence orders its writes only). */
  readonly session: string;
  /** The session's send order. */
  readonly seq: number;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface PollEvent {
  readonly kind: 'poll';
  /** The consumer session (one consumer instance, assigned its partitions once). */
  readonly session: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export type ChaosEvent = SendEvent | PollEvent;

export interface Anomalies {
  readonly lost: string[];
  readonly unseen: string[];
  readonly duplicate: string[];
  readonly inconsistentOffset: string[];
  readonly pollSkip: string[];
  readonly nonMonotonicPoll: string[];
  readonly nonMonotonicSend: string[];
}

export interface CheckResult {
  readonly anomalies: Anomalies;
  readonly acknowledged: number;
  readonly polled: number;
  /** Distinct values read by any session. */
  readonly valuesRead: number;
}

/** Each anomaly list names at most this many cases (the count is exact). */
export const ANOMALY_EXAMPLES_MAX = 10;

const at = (partition: number, offset: number): string => `${partition}:${offset}`;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}

/** Checks `history` (sends in any order, each session's polls in the order it read them). */
export function check(history: readonly ChaosEvent[]): CheckResult {
  const sends = history.filter((event): event is SendEvent => event.kind === 'send');
  const polls = history.filter((event): event is PollEvent => event.kind === 'poll');
  const anomalies: Anomalies = {
    ...lostOrUnseen(sends, polls),
    duplicate: duplicates(history),
    inconsistentOffset: inconsistentOffsets(history),
    ...pollOrder(history, polls),
    nonMonotonicSend: sendOrder(sends),
  };
  return {
    anomalies,
    acknowledged: sends.length,
    polled: polls.length,
    valuesRead: new Set(polls.map((poll) => poll.value)).size,
  };
}

function lostOrUnseen(
  sends: readonly SendEvent[],
  polls: readonly PollEvent[],
): Pick<Anomalies, 'lost' | 'unseen'> {
  const read = new Set(polls.map((poll) => poll.value));
  const highestRead = new Map<number, number>();
  for (const poll of polls)
    highestRead.set(poll.partition, Math.max(poll.offset, highestRead.get(poll.partition) ?? -1));
  const lost: string[] = [];
  const unseen: string[] = [];
  for (const send of sends) {
    if (read.has(send.value)) continue;
    const where = `${send.value} acknowledged at ${at(send.partition, send.offset)} by ${send.session}`;
    if (send.offset < (highestRead.get(send.partition) ?? -1)) lost.push(`${where}, never read`);
    else unseen.push(`${where}, never read (reads of partition ${send.partition} end below it)`);
  }
  return { lost, unseen };
}

function duplicates(history: readonly ChaosEvent[]): string[] {
  const found: string[] = [];
  for (const [value, events] of groupBy(history, (event) => event.value)) {
    const offsets = new Set(events.map((event) => at(event.partition, event.offset)));
    if (offsets.size > 1) found.push(`${value} at ${[...offsets].sort().join(', ')}`);
  }
  return found;
}

function inconsistentOffsets(history: readonly ChaosEvent[]): string[] {
  const found: string[] = [];
  for (const [offset, events] of groupBy(history, (event) => at(event.partition, event.offset))) {
    const values = new Set(events.map((event) => event.value));
    if (values.size > 1) found.push(`${offset} holds ${[...values].sort().join(', ')}`);
  }
  return found;
}

/** Every (partition, offset) some observation holds, sorted per partition. */
function knownOffsets(history: readonly ChaosEvent[]): Map<number, number[]> {
  const byPartition = new Map<number, Set<number>>();
  for (const event of history) {
    const offsets = byPartition.get(event.partition) ?? new Set<number>();
    offsets.add(event.offset);
    byPartition.set(event.partition, offsets);
  }
  return new Map([...byPartition].map(([p, offsets]) => [p, [...offsets].sort((a, b) => a - b)]));
}

/** Whether a sorted list holds a value strictly between `low` and `high` (binary search). */
function holdsBetween(sorted: readonly number[], low: number, high: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= low) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! < high;
}

function pollOrder(
  history: readonly ChaosEvent[],
  polls: readonly PollEvent[],
): Pick<Anomalies, 'pollSkip' | 'nonMonotonicPoll'> {
  const known = knownOffsets(history);
  const pollSkip: string[] = [];
  const nonMonotonicPoll: string[] = [];
  for (const [key, reads] of groupBy(polls, (poll) => `${poll.session} partition ${poll.partition}`)) {
    for (let i = 1; i < reads.length; i++) {
      const previous = reads[i - 1]!;
      const next = reads[i]!;
      if (next.offset <= previous.offset)
        nonMonotonicPoll.push(`${key} read offset ${previous.offset} then ${next.offset}`);
      else if (holdsBetween(known.get(next.partition) ?? [], previous.offset, next.offset))
        pollSkip.push(`${key} read offset ${previous.offset} then ${next.offset}, skipping records between`);
    }
  }
  return { pollSkip, nonMonotonicPoll };
}

function sendOrder(sends: readonly SendEvent[]): string[] {
  const found: string[] = [];
  for (const [key, acks] of groupBy(sends, (send) => `${send.session} partition ${send.partition}`)) {
    const ordered = [...acks].sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1]!;
      const next = ordered[i]!;
      if (next.offset <= previous.offset)
        found.push(
          `${key}: send ${previous.seq} acknowledged at ${previous.offset}, later send ${next.seq} at ${next.offset}`,
        );
    }
  }
  return found;
}

/** The anomalies found, one line per kind with its count and first cases; '' when none. */
export function describeAnomalies(anomalies: Anomalies): string {
  return Object.entries(anomalies)
    .filter(([, cases]) => cases.length > 0)
    .map(
      ([kind, cases]) =>
        `${kind}: ${cases.length} (${cases.slice(0, ANOMALY_EXAMPLES_MAX).join('; ')}${cases.length > ANOMALY_EXAMPLES_MAX ? '; …' : ''})`,
    )
    .join('\n');
}
