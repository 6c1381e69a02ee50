/**
 * Declarative topics: the file format of `kafka-init` (infra/05-messaging/kafka/init/topics.txt,
 * `NAME PARTITIONS REPLICATION_FACTOR [CONFIG=VALUE ...]`, `#` comments), a plan that makes a
 * cluster match it, and the execution of that plan through @platformatic/kafka's Admin client
 * like any other tool. Used by `kstack topics apply` and by `kstack up` for the baseline topics
 * (create-only, as `kafka-topics --create --if-not-exists`).
 *
 * Rules: missing topics are created; partitions are only ever added (a file asking for fewer
 * than the cluster has is an error, never a deletion); configs named in the file are set
 * (IncrementalAlterConfigs SET) when they differ, configs not named are left alone; topics
 * not in the file are deleted only when asked. A replication factor above the cluster's
 * broker count is lowered to it, with `min.insync.replicas` (src/topology/replication.ts),
 * and said. An existing topic's replication factor is never changed (that is a reassignment):
 * a difference is reported as a warning.
 */
import { readFileSync } from 'node:fs';
import type { Admin } from '@platformatic/kafka';
import { UsageError } from '../common/cli-errors.ts';
import { parseTopicsFile } from '../validate/rules/topics.ts';
import { fitReplication } from './replication.ts';

const RESOURCE_TOPIC = 2;
const OPERATION_SET = 0;
/** Kafka's internal topics: never deleted, never planned. */
const INTERNAL_TOPIC_PREFIX = '__';

export interface DesiredTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
  readonly line: number;
}

export interface TopicsFile {
  /** The path as given, for messages. */
  readonly displayPath: string;
  readonly topics: readonly DesiredTopic[];
}

/** Reads and checks a topics file; bad lines throw a UsageError naming `file:line` (exit 2). */
export function readTopicsFile(path: string, displayPath = path): TopicsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read topics file ${displayPath}: ${(error as Error).message}`);
  }
  const { topics, errors } = parseTopicsFile(text);
  const problems = errors.map((error) => `${displayPath}:${error.line}: ${error.message}`);
  const seen = new Map<string, number>();
  for (const topic of topics) {
    if (topic.replicationFactor < 1 && /^\d+$/.test(String(topic.replicationFactor))) {
      problems.push(`${displayPath}:${topic.line}: replication factor must be at least 1`);
    }
    const first = seen.get(topic.name);
    if (first !== undefined) {
      problems.push(`${displayPath}:${topic.line}: topic '${topic.name}' is already listed on line ${first}`);
    } else seen.set(topic.name, topic.line);
    if (topic.name.startsWith(INTERNAL_TOPIC_PREFIX)) {
      problems.push(
        `${displayPath}:${topic.line}: '${topic.name}' is an internal topic name (starts with __)`,
      );
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { displayPath, topics };
}

/** A topic as the cluster has it. */
export interface ClusterTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Config values in force, by name (only read for topics the file lists). */
  readonly configs: ReadonlyMap<string, string | null>;
}

export interface ClusterState {
  readonly brokerCount: number;
  readonly topics: ReadonlyMap<string, ClusterTopic>;
}

export type TopicAction =
  | {
      readonly kind: 'create';
      readonly topic: string;
      readonly line: number;
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly configs: ReadonlyMap<string, string>;
      readonly lowered: readonly string[];
    }
  | {
      readonly kind: 'add-partitions';
      readonly topic: string;
      readonly line: number;
      readonly from: number;
      readonly to: number;
    }
  | {
      readonly kind: 'set-configs';
      readonly topic: string;
      readonly line: number;
      readonly changes: readonly {
        readonly name: string;
        readonly from: string | null;
        readonly to: string;
      }[];
    }
  | { readonly kind: 'delete'; readonly topic: string };

export interface PlanNote {
  readonly topic: string;
  readonly message: string;
}

export interface TopicsPlan {
  readonly actions: readonly TopicAction[];
  /** Topics already as the file says. */
  readonly unchanged: readonly string[];
  /** What the file asks and cannot be done (partitions lowered): the run fails. */
  readonly errors: readonly PlanNote[];
  /** What is left as it is, and said (replication factor differences, lowered settings). */
  readonly warnings: readonly PlanNote[];
}

export interface PlanOptions {
  /** Delete topics the file does not list (never internal ones). */
  readonly delete: boolean;
  /** `--create --if-not-exists`: create missing topics, leave existing ones alone. */
  readonly createOnly: boolean;
}

/** The desired topic fitted to the cluster's size, with the lowered settings named. */
function fitted(topic: DesiredTopic, brokerCount: number) {
  const isrText = topic.configs.get('min.insync.replicas');
  const isr = isrText !== undefined && /^\d+$/.test(isrText) ? Number(isrText) : undefined;
  const fit = fitReplication(
    { replicationFactor: topic.replicationFactor, minInsyncReplicas: isr },
    brokerCount,
  );
  const configs = new Map(topic.configs);
  if (fit.minInsyncReplicas !== undefined) configs.set('min.insync.replicas', String(fit.minInsyncReplicas));
  return { replicationFactor: fit.replicationFactor, configs, lowered: fit.changes };
}

export function planTopics(file: TopicsFile, cluster: ClusterState, options: PlanOptions): TopicsPlan {
  const actions: TopicAction[] = [];
  const unchanged: string[] = [];
  const errors: PlanNote[] = [];
  const warnings: PlanNote[] = [];
  const where = (topic: DesiredTopic): string => `${file.displayPath}:${topic.line}`;
  for (const topic of file.topics) {
    const fit = fitted(topic, cluster.brokerCount);
    const existing = cluster.topics.get(topic.name);
    if (existing === undefined) {
      actions.push({
        kind: 'create',
        topic: topic.name,
        line: topic.line,
        partitions: topic.partitions,
        replicationFactor: fit.replicationFactor,
        configs: fit.configs,
        lowered: fit.lowered,
      });
      continue;
    }
    if (options.createOnly) {
      unchanged.push(topic.name);
      continue;
    }
    let changed = false;
    if (topic.partitions < existing.partitions) {
      errors.push({
        topic: topic.name,
        message: `${where(topic)}: ${topic.name} has ${existing.partitions} partitions and the file asks for ${topic.partitions}; Kafka cannot remove partitions: set ${existing.partitions} or more in the file, or delete and recreate the topic`,
      });
    } else if (topic.partitions > existing.partitions) {
      actions.push({
        kind: 'add-partitions',
        topic: topic.name,
        line: topic.line,
        from: existing.partitions,
        to: topic.partitions,
      });
      changed = true;
    }
    if (existing.replicationFactor !== fit.replicationFactor) {
      warnings.push({
        topic: topic.name,
        message: `${where(topic)}: ${topic.name} has replication factor ${existing.replicationFactor} and the file asks for ${fit.replicationFactor}${fit.lowered.length > 0 ? ` (${fit.lowered[0]} for ${cluster.brokerCount} brokers)` : ''}; left as it is: changing it is a partition reassignment (kafka-reassign-partitions)`,
      });
    }
    const changes = [...fit.configs]
      .filter(([name, value]) => existing.configs.get(name) !== value)
      .map(([name, value]) => ({ name, from: existing.configs.get(name) ?? null, to: value }));
    if (changes.length > 0) {
      actions.push({ kind: 'set-configs', topic: topic.name, line: topic.line, changes });
      changed = true;
    }
    if (!changed) unchanged.push(topic.name);
  }
  if (options.delete && !options.createOnly) {
    const listed = new Set(file.topics.map((topic) => topic.name));
    for (const name of [...cluster.topics.keys()].sort()) {
      if (!listed.has(name) && !name.startsWith(INTERNAL_TOPIC_PREFIX))
        actions.push({ kind: 'delete', topic: name });
    }
  }
  return { actions, unchanged, errors, warnings };
}

/** One line per action, as the dry run and the run print them. */
export function describeAction(action: TopicAction, displayPath: string): string {
  switch (action.kind) {
    case 'create': {
      const configs = [...action.configs].map(([name, value]) => ` ${name}=${value}`).join('');
      const lowered =
        action.lowered.length > 0 ? ` (lowered to fit the cluster: ${action.lowered.join(', ')})` : '';
      return `create ${action.topic} partitions=${action.partitions} replication-factor=${action.replicationFactor}${configs}${lowered} [${displayPath}:${action.line}]`;
    }
    case 'add-partitions':
      return `add partitions ${action.topic} ${action.from} -> ${action.to} [${displayPath}:${action.line}]`;
    case 'set-configs':
      return `set configs ${action.topic} ${action.changes
        .map((change) => `${change.name}=${change.to} (was ${change.from ?? 'unset'})`)
        .join(' ')} [${displayPath}:${action.line}]`;
    case 'delete':
      return `delete ${action.topic} (not in ${displayPath}; --delete)`;
  }
}

/** Reads the cluster's non-internal topics, and the configs of those the file lists. */
export async function readCluster(admin: Admin, file: TopicsFile): Promise<ClusterState> {
  const names = (await admin.listTopics({ includeInternals: false })).filter(
    (name) => !name.startsWith(INTERNAL_TOPIC_PREFIX),
  );
  const metadata = await admin.metadata({ topics: names, forceUpdate: true });
  const listed = new Set(file.topics.map((topic) => topic.name));
  const wanted = names.filter((name) => listed.has(name));
  const described =
    wanted.length === 0
      ? []
      : await admin.describeConfigs({
          resources: wanted.map((name) => ({ resourceType: RESOURCE_TOPIC, resourceName: name })),
        });
  const topics = new Map<string, ClusterTopic>();
  for (const name of names) {
    const topic = metadata.topics.get(name);
    if (topic === undefined) continue;
    const configs = new Map<string, string | null>();
    for (const entry of described.find((item) => item.resourceName === name)?.configs ?? []) {
      configs.set(entry.name, entry.value ?? null);
    }
    topics.set(name, {
      name,
      partitions: topic.partitionsCount,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
      configs,
    });
  }
  return { brokerCount: metadata.brokers.size, topics };
}

/** Runs one action; throws with the topic and what failed. */
export async function applyAction(admin: Admin, action: TopicAction): Promise<void> {
  switch (action.kind) {
    case 'create':
      await admin.createTopics({
        topics: [{ topic: action.topic, partitions: action.partitions, replicas: action.replicationFactor }],
        configs: [...action.configs].map(([name, value]) => ({ name, value })),
      });
      return;
    case 'add-partitions':
      await admin.createPartitions({ topics: [{ name: action.topic, count: action.to }] });
      return;
    case 'set-configs':
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: RESOURCE_TOPIC,
            resourceName: action.topic,
            configs: action.changes.map((change) => ({
              name: change.name,
              configOperation: OPERATION_SET,
              value: change.to,
            })),
          },
        ],
      });
      return;
    case 'delete':
      await admin.deleteTopics({ topics: [action.topic] });
      return;
  }
}

/** Between Metadata reads while waiting for created topics and partitions to show. */
const SETTLE_POLL_MS = 100;

/**
 * Waits until Metadata shows each created topic and added partition with a leader, so that
 * "done" means clients can use it (on a cluster, brokers learn of a change a moment after
 * the controller answers). Returns the topics still not settled at the deadline.
 */
export async function awaitSettled(
  admin: Admin,
  actions: readonly TopicAction[],
  timeoutMs: number,
): Promise<string[]> {
  const expected = new Map<string, number>();
  for (const action of actions) {
    if (action.kind === 'create') expected.set(action.topic, action.partitions);
    if (action.kind === 'add-partitions') expected.set(action.topic, action.to);
  }
  if (expected.size === 0) return [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pending = [...expected.keys()];
    try {
      const metadata = await admin.metadata({ topics: pending, forceUpdate: true });
      pending = pending.filter((name) => {
        const topic = metadata.topics.get(name);
        return (
          topic === undefined ||
          topic.partitionsCount < expected.get(name)! ||
          topic.partitions.some((partition) => partition.leader < 0)
        );
      });
    } catch {
      // A topic the answering broker does not know yet fails the whole request: still pending.
    }
    if (pending.length === 0 || Date.now() > deadline) return pending;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** The Kafka error inside a client error (its code, name and the broker's message), for reports. */
export function kafkaErrorText(error: unknown): string {
  const parts: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4 || value === null || typeof value !== 'object') return;
    const e = value as {
      message?: string;
      apiId?: string;
      serverErrorMessage?: string | null;
      errors?: unknown[];
      cause?: unknown;
    };
    if (typeof e.apiId === 'string') parts.push(`${e.apiId}: ${e.serverErrorMessage ?? e.message ?? ''}`);
    else if (typeof e.message === 'string' && e.message !== '') leaves.push(e.message);
    for (const inner of e.errors ?? []) visit(inner, depth + 1);
    visit(e.cause, depth + 1);
  };
  const leaves: string[] = [];
  visit(error, 0);
  return [...new Set(parts.length > 0 ? parts : leaves)].join('; ');
}
