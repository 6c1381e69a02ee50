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
        reason: 'the KRaft quorum of the Docker cluster: kstack runs one node (issue 12)',
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
