/**
 * The server-side assignors of KIP-848 consumer groups (`group.consumer.assignors`): `uniform`
 * (Kafka's default: balanced, sticky) and `range` (per topic, contiguous ranges). Pure functions
 * of the members' subscriptions, the subscribed topics and the previous target assignment.
 */

/** topic id → partitions, sorted ascending. */
export type Assignment = Map<string, number[]>;

export interface AssignorTopic {
  readonly topicId: string;
  readonly name: string;
  readonly partitionCount: number;
}

export interface AssignorMember {
  readonly memberId: string;
  /** Topic names this member is subscribed to (explicit names and regex matches, resolved). */
  readonly subscribedTopics: ReadonlySet<string>;
}

export interface AssignorInput {
  /** Sorted by member id by the caller; the result does not depend on map order. */
  readonly members: readonly AssignorMember[];
  /** Topics subscribed by at least one member, by name. */
  readonly topics: ReadonlyMap<string, AssignorTopic>;
  /** The previous target assignment, by member id (what stickiness keeps). */
  readonly previous: ReadonlyMap<string, Assignment>;
}

export type Assignor = (input: AssignorInput) => Map<string, Assignment>;

/** The assignors kstack serves, by the names `group.consumer.assignors` and clients use. */
export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map<string, Assignor>([
  ['uniform', uniformAssign],
  ['range', rangeAssign],
]);

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

function add(assignment: Assignment, topicId: string, partition: number): void {
  const list = assignment.get(topicId);
  if (list === undefined) assignment.set(topicId, [partition]);
  else list.push(partition);
}

function sorted(assignment: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const topicId of [...assignment.keys()].sort()) {
    out.set(
      topicId,
      [...(assignment.get(topicId) ?? [])].sort((a, b) => a - b),
    );
  }
  return out;
}

/**
 * Uniform: every partition of a subscribed topic goes to one member subscribed to it; a
 * partition stays with its previous owner while that keeps the counts balanced; the rest go to
 * the least-loaded subscriber (ties: member id order). Then partitions move from the most to
 * the least loaded subscriber until no move can narrow the gap: with identical subscriptions,
 * counts differ by at most one, as with Kafka's uniform assignor.
 */
export function uniformAssign(input: AssignorInput): Map<string, Assignment> {
  const owner = new Map<string, string>();
  const counts = new Map<string, number>(input.members.map((m) => [m.memberId, 0]));
  const subscribers = new Map<string, string[]>();
  for (const topic of input.topics.values()) {
    subscribers.set(
      topic.topicId,
      input.members.filter((m) => m.subscribedTopics.has(topic.name)).map((m) => m.memberId),
    );
  }
  const topicsInOrder = [...input.topics.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const totalByMember = new Map<string, number>(input.members.map((m) => [m.memberId, 0]));
  for (const topic of topicsInOrder) {
    for (const memberId of subscribers.get(topic.topicId) ?? []) {
      totalByMember.set(memberId, (totalByMember.get(memberId) ?? 0) + topic.partitionCount);
    }
  }
  // A member's fair share when every subscriber shares every partition equally.
  const totalPartitions = topicsInOrder.reduce((sum, t) => sum + t.partitionCount, 0);
  const quota = input.members.length === 0 ? 0 : Math.ceil(totalPartitions / input.members.length);
  // Pass 1: stickiness, within the quota.
  for (const member of input.members) {
    const previous = input.previous.get(member.memberId);
    if (previous === undefined) continue;
    for (const [topicId, partitions] of previous) {
      const topic = topicsInOrder.find((t) => t.topicId === topicId);
      if (topic === undefined || !member.subscribedTopics.has(topic.name)) continue;
      for (const p of partitions) {
        const key = partitionKey(topicId, p);
        if (p >= topic.partitionCount || owner.has(key)) continue;
        if ((counts.get(member.memberId) ?? 0) >= quota) break;
        owner.set(key, member.memberId);
        counts.set(member.memberId, (counts.get(member.memberId) ?? 0) + 1);
      }
    }
  }
  // Pass 2: every other partition to its least-loaded subscriber.
  for (const topic of topicsInOrder) {
    const candidates = subscribers.get(topic.topicId) ?? [];
    if (candidates.length === 0) continue;
    for (let p = 0; p < topic.partitionCount; p++) {
      const key = partitionKey(topic.topicId, p);
      if (owner.has(key)) continue;
      const chosen = leastLoaded(candidates, counts);
      owner.set(key, chosen);
      counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
    }
  }
  // Pass 3: balance (matters when subscriptions differ, or stickiness left a gap).
  let moved = true;
  for (let round = 0; moved && round < totalPartitions; round++) {
    moved = false;
    for (const topic of topicsInOrder) {
      const candidates = subscribers.get(topic.topicId) ?? [];
      for (let p = 0; p < topic.partitionCount; p++) {
        const key = partitionKey(topic.topicId, p);
        const current = owner.get(key);
        if (current === undefined) continue;
        const target = leastLoaded(candidates, counts);
        if ((counts.get(current) ?? 0) - (counts.get(target) ?? 0) >= 2) {
          owner.set(key, target);
          counts.set(current, (counts.get(current) ?? 0) - 1);
          counts.set(target, (counts.get(target) ?? 0) + 1);
          moved = true;
        }
      }
    }
  }
  const result = new Map<string, Assignment>(input.members.map((m) => [m.memberId, new Map()]));
  for (const [key, memberId] of owner) {
    const separator = key.lastIndexOf(':');
    add(result.get(memberId)!, key.slice(0, separator), Number(key.slice(separator + 1)));
  }
  for (const [memberId, assignment] of result) result.set(memberId, sorted(assignment));
  return result;
}

function leastLoaded(candidates: readonly string[], counts: ReadonlyMap<string, number>): string {
  let best = candidates[0]!;
  for (const candidate of candidates) {
    if ((counts.get(candidate) ?? 0) < (counts.get(best) ?? 0)) best = candidate;
  }
  return best;
}

/**
 * Range: for each topic, its subscribers in member id order take contiguous ranges, the first
 * `partitions % subscribers` of them one partition more (the classic RangeAssignor's split).
 */
export function rangeAssign(input: AssignorInput): Map<string, Assignment> {
  const result = new Map<string, Assignment>(input.members.map((m) => [m.memberId, new Map()]));
  for (const topic of input.topics.values()) {
    const subscribers = input.members.filter((m) => m.subscribedTopics.has(topic.name));
    if (subscribers.length === 0) continue;
    const base = Math.floor(topic.partitionCount / subscribers.length);
    const extra = topic.partitionCount % subscribers.length;
    let next = 0;
    subscribers.forEach((member, index) => {
      const count = base + (index < extra ? 1 : 0);
      for (let i = 0; i < count; i++) add(result.get(member.memberId)!, topic.topicId, next++);
    });
  }
  for (const [memberId, assignment] of result) result.set(memberId, sorted(assignment));
  return result;
}
