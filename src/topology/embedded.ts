/**
 * What the embedded engine makes of one Compose broker service: the settings it runs with,
 * the ones it lowers for a smaller cluster, the ones that describe the container rather than
 * the broker (listeners, paths, the JVM), and the ones it does not implement. Nothing is
 * dropped silently: each group is reported by `kstack up` in one line.
 */
import { BROKER_CONFIG_BY_NAME, validateConfigValue } from '../broker/config.ts';
import { UsageError } from '../common/cli-errors.ts';
import type { BrokerProperty, BrokerService } from './compose.ts';
import { fitReplication } from './replication.ts';

/** A setting the embedded engine cannot take as it is, and why. */
export interface SetAside {
  /** A property name, or the variable's name for one the image never renders. */
  readonly name: string;
  readonly reason: string;
}

export interface EmbeddedBrokerPlan {
  readonly service: string;
  readonly nodeId: number;
  /** The published host port, when the service publishes one. */
  readonly hostPort: number | undefined;
  /** Broker configs by Kafka name, for the static layer (`--override` still wins). */
  readonly config: Readonly<Record<string, string>>;
  /** Where each applied config came from (`file:line`). */
  readonly sources: Readonly<Record<string, string>>;
  /** Replication settings lowered to the broker count, e.g. `default.replication.factor 3 -> 1`. */
  readonly lowered: readonly string[];
  readonly setAside: readonly SetAside[];
  readonly notImplemented: readonly BrokerProperty[];
}

const LISTENER_PROPERTIES = [
  'listeners',
  'advertised.listeners',
  'listener.security.protocol.map',
  'controller.listener.names',
  'inter.broker.listener.name',
];
const QUORUM_PROPERTIES = [
  'process.roles',
  'controller.quorum.voters',
  'controller.quorum.bootstrap.servers',
];
const PATH_PROPERTIES = ['log.dirs', 'log.dir', 'metadata.log.dir'];
/**
 * A cluster node's controller listener sits this far above its broker port (src/engine/cluster.ts
 * uses this constant; it lives here so the topology's messages and the engine agree).
 */
export const CONTROLLER_PORT_OFFSET = 50;

/** Replication defaults of a cluster of `brokers` nodes when no Compose stack gives them (the seeds': RF 3, min ISR 2). */
export function clusterDefaults(brokers: number): Record<string, string> {
  const factor = String(Math.min(3, brokers));
  const minIsr = String(Math.min(2, brokers));
  return {
    'default.replication.factor': factor,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': factor,
    'transaction.state.log.replication.factor': factor,
    'transaction.state.log.min.isr': minIsr,
  };
}

/** Replication factor settings and the minimum ISR that goes with each. */
const REPLICATION_PAIRS: readonly (readonly [string, string | undefined])[] = [
  ['default.replication.factor', 'min.insync.replicas'],
  ['offsets.topic.replication.factor', undefined],
  ['transaction.state.log.replication.factor', 'transaction.state.log.min.isr'],
];

const JVM_REASONS: Readonly<Record<string, string>> = {
  KAFKA_HEAP_OPTS: 'the JVM heap of the Docker broker',
  KAFKA_OPTS: 'JVM flags of the Docker broker (a JMX agent)',
  KAFKA_JMX_OPTS: 'JMX flags of the Docker broker',
};

export function embeddedBrokerPlan(broker: BrokerService, brokerCount: number): EmbeddedBrokerPlan {
  const config: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const setAside: SetAside[] = [];
  const notImplemented: BrokerProperty[] = [];
  const listening = broker.hostPort === undefined ? 'the --port given' : `host port ${broker.hostPort}`;
  for (const property of broker.properties.values()) {
    const { name } = property;
    if (name === 'node.id') continue;
    if (LISTENER_PROPERTIES.includes(name)) {
      setAside.push({ name, reason: `container listeners: the embedded broker listens on ${listening}` });
    } else if (QUORUM_PROPERTIES.includes(name)) {
      setAside.push({
        name,
        reason:
          brokerCount === 1
            ? 'the KRaft quorum of the Docker cluster: kstack runs one node (--brokers 1)'
            : `the KRaft quorum of the Docker cluster (container addresses): kstack's ${brokerCount} nodes vote on controller listeners ${CONTROLLER_PORT_OFFSET} above their broker ports`,
      });
    } else if (PATH_PROPERTIES.includes(name)) {
      setAside.push({ name, reason: 'a container path: kstack keeps its data in --data-dir' });
    } else if (!BROKER_CONFIG_BY_NAME.has(name)) {
      notImplemented.push(property);
    } else {
      const problem = validateConfigValue(BROKER_CONFIG_BY_NAME.get(name)!, property.value);
      if (problem !== null) throw new UsageError(`${property.where}: ${property.variable}: ${problem}`);
      config[name] = property.value;
      sources[name] = property.where;
    }
  }
  if (broker.clusterId !== undefined) {
    setAside.push({ name: 'CLUSTER_ID', reason: 'kstack formats its own cluster id in --data-dir' });
  }
  for (const variable of broker.notRendered) {
    setAside.push({
      name: variable.variable,
      reason: JVM_REASONS[variable.variable] ?? "read by the image's launch script, not a broker property",
    });
  }
  return {
    service: broker.service,
    nodeId: broker.nodeId ?? 1,
    hostPort: broker.hostPort,
    config,
    sources,
    lowered: lowerReplication(config, brokerCount),
    setAside,
    notImplemented,
  };
}

/**
 * What each node of an embedded cluster of `brokerCount` nodes makes of the Compose stack: node i
 * follows the stack's i-th broker service by node id (kafka-1, kafka-2, ...), each through
 * `embeddedBrokerPlan` (its own node id, published port and KAFKA_* settings, replication lowered
 * to the count). Fewer nodes than services take the first ones; more nodes than the stack declares
 * is refused, since the extra nodes would have no settings, node id or port of their own.
 */
export function embeddedClusterPlans(
  brokers: readonly BrokerService[],
  brokerCount: number,
  composeFile: string,
): EmbeddedBrokerPlan[] {
  if (brokerCount > brokers.length) {
    const names = brokers.map((broker) => broker.service).join(', ') || 'none';
    throw new UsageError(
      `--brokers ${brokerCount}: ${composeFile} declares ${brokers.length} broker service${brokers.length === 1 ? '' : 's'} (${names}); start at most that many from it, or pass --no-compose for Kafka's defaults`,
    );
  }
  const plans = brokers.slice(0, brokerCount).map((broker) => embeddedBrokerPlan(broker, brokerCount));
  if (brokerCount > 1) {
    const seen = new Map<number, string>();
    for (const plan of plans) {
      const broker = brokers.find((item) => item.service === plan.service);
      if (broker?.nodeId === undefined) {
        throw new UsageError(
          `${broker?.where ?? composeFile}: ${plan.service} sets no KAFKA_NODE_ID; every broker of a cluster needs its own`,
        );
      }
      const other = seen.get(plan.nodeId);
      if (other !== undefined) {
        throw new UsageError(
          `${broker.where}: ${plan.service} has node id ${plan.nodeId}, as ${other} has; node ids must differ`,
        );
      }
      seen.set(plan.nodeId, plan.service);
    }
  }
  return plans;
}

/** Lowers the replication settings in `config` (in place) to fit `brokerCount`; returns what changed. */
function lowerReplication(config: Record<string, string>, brokerCount: number): string[] {
  const changes: string[] = [];
  for (const [factorName, isrName] of REPLICATION_PAIRS) {
    const factor = config[factorName];
    if (factor === undefined || !/^\d+$/.test(factor)) continue;
    const isr = isrName === undefined ? undefined : config[isrName];
    const fitted = fitReplication(
      {
        replicationFactor: Number(factor),
        minInsyncReplicas: isr !== undefined && /^\d+$/.test(isr) ? Number(isr) : undefined,
      },
      brokerCount,
    );
    if (fitted.changes.length === 0) continue;
    config[factorName] = String(fitted.replicationFactor);
    changes.push(`${factorName} ${factor} -> ${fitted.replicationFactor}`);
    if (
      isrName !== undefined &&
      fitted.minInsyncReplicas !== undefined &&
      String(fitted.minInsyncReplicas) !== isr
    ) {
      config[isrName] = String(fitted.minInsyncReplicas);
      changes.push(`${isrName} ${isr} -> ${fitted.minInsyncReplicas}`);
    }
  }
  return changes;
}

/** The lines `kstack up` prints about a plan (each group once, on one line). */
export function describePlan(plan: EmbeddedBrokerPlan, composeFile: string, brokerCount: number): string[] {
  const lines: string[] = [];
  const applied = Object.entries(plan.config).map(([name, value]) => `${name}=${value}`);
  lines.push(
    `${plan.service} (${composeFile}): node.id=${plan.nodeId}, ${applied.length} settings applied: ${applied.join(', ') || 'none'}`,
  );
  if (plan.lowered.length > 0) {
    lines.push(
      `${plan.service}: lowered for ${brokerCount} broker${brokerCount === 1 ? '' : 's'}: ${plan.lowered.join(', ')}`,
    );
  }
  if (plan.notImplemented.length === 0) {
    lines.push(`${plan.service}: no setting that the embedded engine does not implement`);
  } else {
    lines.push(
      `${plan.service}: NOT IMPLEMENTED by the embedded engine, ignored: ${plan.notImplemented
        .map((property) => `${property.name}=${property.value} (${property.variable}, ${property.where})`)
        .join(', ')}`,
    );
  }
  if (plan.setAside.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const item of plan.setAside)
      byReason.set(item.reason, [...(byReason.get(item.reason) ?? []), item.name]);
    lines.push(
      `${plan.service}: not for an embedded broker: ${[...byReason]
        .map(([reason, names]) => `${names.join(', ')} (${reason})`)
        .join('; ')}`,
    );
  }
  return lines;
}
