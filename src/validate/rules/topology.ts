/**
 * Rules about the broker set and its KRaft wiring: RULE-MSG-002 (three KRaft brokers with
 * their own data folders), -004 (node ids and quorum voters), -005 (listeners),
 * -006 (cluster id) and -007 (replication factors).
 */
import {
  environmentOf,
  envLocation,
  envValue,
  isBroker,
  mountsOf,
  parseListeners,
  parseProtocolMap,
  parseVoters,
  portsOf,
  splitList,
} from '../service-facts.ts';
import { locate, type Service, type Stack } from '../stack.ts';
import { EXPECTED_BROKERS, type Finding, finding, type Rule, rootLocation } from './rule.ts';

const DATA_SOURCE = /^\$\{DEFAULT_MESSAGE_BROKER_DIR(?:(?::?[-?])[^}]*)?\}\/kafka\/[^/]+/;
const DEFAULT_LOG_DIR = '/var/lib/kafka/data';

function brokers(stack: Stack): Service[] {
  return stack.services.filter(isBroker);
}

export const brokersRule: Rule = {
  id: 'RULE-MSG-002',
  title:
    'exactly kafka-1..3 as KRaft brokers, each with its own data folder under $DEFAULT_MESSAGE_BROKER_DIR/kafka/',
  traces: ['REQ-SPC-MSG-002', 'VAL-MSG-PLN-002'],
  check(stack) {
    const findings: Finding[] = [];
    const found = brokers(stack);
    for (const name of EXPECTED_BROKERS) {
      if (!found.some((service) => service.name === name)) {
        findings.push(
          finding(
            rootLocation(stack),
            `broker service '${name}' is missing; the cluster has three brokers kafka-1..3`,
          ),
        );
      }
    }
    for (const service of found) {
      if (!(EXPECTED_BROKERS as readonly string[]).includes(service.name)) {
        findings.push(
          finding(
            locate(service, []),
            `'${service.name}' runs a broker; only kafka-1..3 may (rename or remove it)`,
          ),
        );
      }
      findings.push(...kraftFindings(service));
    }
    findings.push(...dataMountFindings(found));
    return findings;
  },
};

function kraftFindings(service: Service): Finding[] {
  const findings: Finding[] = [];
  if (envValue(service, 'KAFKA_ZOOKEEPER_CONNECT') !== undefined) {
    findings.push(
      finding(
        envLocation(service, 'KAFKA_ZOOKEEPER_CONNECT'),
        `${service.name} is configured for Zookeeper; the stack runs KRaft (TASK-009's Zookeeper design is superseded): remove KAFKA_ZOOKEEPER_CONNECT`,
      ),
    );
  }
  const roles = splitList(envValue(service, 'KAFKA_PROCESS_ROLES') ?? '');
  if (!roles.includes('broker') || !roles.includes('controller')) {
    findings.push(
      finding(
        envLocation(service, 'KAFKA_PROCESS_ROLES'),
        `${service.name}: set KAFKA_PROCESS_ROLES=broker,controller (KRaft, combined broker and controller)`,
      ),
    );
  }
  return findings;
}

function dataMountFindings(found: readonly Service[]): Finding[] {
  const findings: Finding[] = [];
  const seenSources = new Map<string, string>();
  for (const service of found) {
    const logDir = splitList(
      envValue(service, 'KAFKA_LOG_DIRS') ?? envValue(service, 'KAFKA_LOG_DIR') ?? DEFAULT_LOG_DIR,
    )[0];
    const mount = mountsOf(service).find((candidate) => candidate.target === logDir);
    if (mount === undefined || mount.type !== 'bind') {
      findings.push(
        finding(
          locate(service, ['volumes']),
          `${service.name}: bind-mount \${DEFAULT_MESSAGE_BROKER_DIR}/kafka/${service.name} on its log dir ${logDir}`,
        ),
      );
      continue;
    }
    if (!DATA_SOURCE.test(mount.rawSource)) {
      findings.push(
        finding(
          locate(service, [...mount.path]),
          `${service.name}: data mount source '${mount.rawSource}' must start with \${DEFAULT_MESSAGE_BROKER_DIR}/kafka/`,
        ),
      );
    }
    const other = seenSources.get(mount.source);
    if (other !== undefined) {
      findings.push(
        finding(
          locate(service, [...mount.path]),
          `${service.name} shares its data folder with ${other}; give each broker its own`,
        ),
      );
    }
    seenSources.set(mount.source, service.name);
  }
  return findings;
}

export const nodeIdsRule: Rule = {
  id: 'RULE-MSG-004',
  title: 'node ids unique and matching the controller quorum voters',
  traces: ['REQ-SPC-MSG-002', 'REQ-SPC-MSG-003'],
  check(stack) {
    const findings: Finding[] = [];
    const found = brokers(stack);
    const idOf = new Map<string, string>();
    for (const service of found) {
      const id = envValue(service, 'KAFKA_NODE_ID');
      if (id === undefined || !/^\d+$/.test(id)) {
        findings.push(
          finding(
            envLocation(service, 'KAFKA_NODE_ID'),
            `${service.name}: set KAFKA_NODE_ID to a whole number`,
          ),
        );
        continue;
      }
      const clash = [...idOf].find(([, other]) => other === id);
      if (clash !== undefined) {
        findings.push(
          finding(
            envLocation(service, 'KAFKA_NODE_ID'),
            `${service.name} reuses node id ${id} of ${clash[0]}`,
          ),
        );
      }
      idOf.set(service.name, id);
    }
    let reference: string | undefined;
    for (const service of found) {
      const text = envValue(service, 'KAFKA_CONTROLLER_QUORUM_VOTERS');
      const where = envLocation(service, 'KAFKA_CONTROLLER_QUORUM_VOTERS');
      if (text === undefined) {
        findings.push(
          finding(
            where,
            `${service.name}: set KAFKA_CONTROLLER_QUORUM_VOTERS (id@kafka-N:port for every broker)`,
          ),
        );
        continue;
      }
      if (reference !== undefined && text !== reference) {
        findings.push(
          finding(
            where,
            `${service.name}: quorum voters differ from the other brokers'; use one list everywhere`,
          ),
        );
      }
      reference ??= text;
      const voters = parseVoters(text);
      for (const voter of voters) {
        const expectedId = idOf.get(voter.host);
        if (expectedId === undefined) {
          findings.push(
            finding(where, `${service.name}: voter '${voter.id}@${voter.host}' is not a broker service name`),
          );
        } else if (expectedId !== voter.id) {
          findings.push(
            finding(
              where,
              `${service.name}: voter ${voter.id}@${voter.host} but ${voter.host} has node id ${expectedId}`,
            ),
          );
        }
      }
      const own = idOf.get(service.name);
      if (own !== undefined && !voters.some((voter) => voter.id === own && voter.host === service.name)) {
        findings.push(finding(where, `${service.name}: the voters must list ${own}@${service.name}`));
      }
    }
    return findings;
  },
};

export const listenersRule: Rule = {
  id: 'RULE-MSG-005',
  title: 'listeners, advertised listeners, protocol map and controller listener coherent',
  traces: ['REQ-SPC-MSG-003', 'AC-MSG-001'],
  check(stack) {
    return brokers(stack).flatMap((service) => listenerFindings(service));
  },
};

const STANDARD_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

function listenerFindings(service: Service): Finding[] {
  const findings: Finding[] = [];
  const at = (name: string) => envLocation(service, name);
  const listeners = parseListeners(envValue(service, 'KAFKA_LISTENERS') ?? '');
  if (listeners.length === 0) return [finding(at('KAFKA_LISTENERS'), `${service.name}: set KAFKA_LISTENERS`)];
  const protocolMap = parseProtocolMap(envValue(service, 'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP') ?? '');
  const names = new Set(listeners.map((listener) => listener.name));
  for (const listener of listeners) {
    if (listener.port === '') {
      findings.push(
        finding(at('KAFKA_LISTENERS'), `${service.name}: listener '${listener.name}' needs NAME://host:port`),
      );
    }
    if (!protocolMap.has(listener.name) && !STANDARD_PROTOCOLS.includes(listener.name)) {
      findings.push(
        finding(
          at('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP'),
          `${service.name}: add ${listener.name}:PLAINTEXT to the protocol map`,
        ),
      );
    }
  }
  const ports = listeners.map((listener) => listener.port);
  if (new Set(ports).size !== ports.length) {
    findings.push(finding(at('KAFKA_LISTENERS'), `${service.name}: two listeners share a port`));
  }
  const controllerNames = splitList(envValue(service, 'KAFKA_CONTROLLER_LISTENER_NAMES') ?? '').map((name) =>
    name.toUpperCase(),
  );
  if (controllerNames.length === 0) {
    findings.push(
      finding(at('KAFKA_CONTROLLER_LISTENER_NAMES'), `${service.name}: set KAFKA_CONTROLLER_LISTENER_NAMES`),
    );
  }
  for (const name of controllerNames) {
    if (!names.has(name)) {
      findings.push(
        finding(
          at('KAFKA_CONTROLLER_LISTENER_NAMES'),
          `${service.name}: controller listener ${name} is not in KAFKA_LISTENERS`,
        ),
      );
    }
  }
  const controllerPort = listeners.find((listener) => listener.name === controllerNames[0])?.port;
  for (const voter of parseVoters(envValue(service, 'KAFKA_CONTROLLER_QUORUM_VOTERS') ?? '')) {
    if (controllerPort !== undefined && voter.port !== controllerPort) {
      findings.push(
        finding(
          at('KAFKA_CONTROLLER_QUORUM_VOTERS'),
          `${service.name}: voter ${voter.host}:${voter.port} does not use the controller listener port ${controllerPort}`,
        ),
      );
    }
  }
  findings.push(...advertisedFindings(service, listeners, controllerNames));
  return findings;
}

function advertisedFindings(
  service: Service,
  listeners: ReturnType<typeof parseListeners>,
  controllerNames: readonly string[],
): Finding[] {
  const findings: Finding[] = [];
  const where = envLocation(service, 'KAFKA_ADVERTISED_LISTENERS');
  const advertised = parseListeners(envValue(service, 'KAFKA_ADVERTISED_LISTENERS') ?? '');
  if (advertised.length === 0) return [finding(where, `${service.name}: set KAFKA_ADVERTISED_LISTENERS`)];
  for (const entry of advertised) {
    const bound = listeners.find((listener) => listener.name === entry.name);
    if (controllerNames.includes(entry.name)) {
      findings.push(
        finding(where, `${service.name}: never advertise the controller listener ${entry.name}; remove it`),
      );
      continue;
    }
    if (bound === undefined) {
      findings.push(
        finding(where, `${service.name}: advertised listener ${entry.name} is not in KAFKA_LISTENERS`),
      );
      continue;
    }
    if (entry.host === '' || entry.host === '0.0.0.0') {
      findings.push(
        finding(where, `${service.name}: advertise ${entry.name} with a host name clients can reach`),
      );
    }
    if (entry.host === 'localhost') {
      const published = portsOf(service).find((port) => port.container === bound.port);
      if (published?.host !== entry.port) {
        findings.push(
          finding(
            where,
            `${service.name}: ${entry.name} is advertised as localhost:${entry.port} but container port ${bound.port} is published on ${published?.host ?? 'no host port'}; make them equal`,
          ),
        );
      }
    }
  }
  const interBroker = (envValue(service, 'KAFKA_INTER_BROKER_LISTENER_NAME') ?? '').toUpperCase();
  const internal = advertised.find((entry) => entry.name === interBroker);
  if (internal === undefined) {
    findings.push(
      finding(
        envLocation(service, 'KAFKA_INTER_BROKER_LISTENER_NAME'),
        `${service.name}: set KAFKA_INTER_BROKER_LISTENER_NAME to an advertised listener`,
      ),
    );
  } else if (internal.host !== service.name) {
    findings.push(
      finding(
        where,
        `${service.name}: advertise the inter-broker listener as ${service.name}:${internal.port} (its DNS name)`,
      ),
    );
  }
  return findings;
}

export const clusterIdRule: Rule = {
  id: 'RULE-MSG-006',
  title: 'one valid CLUSTER_ID shared by every broker',
  traces: ['REQ-SPC-MSG-002'],
  check(stack) {
    const findings: Finding[] = [];
    let reference: string | undefined;
    for (const service of brokers(stack)) {
      const id = envValue(service, 'CLUSTER_ID');
      const where = envLocation(service, 'CLUSTER_ID');
      if (id === undefined) {
        findings.push(
          finding(where, `${service.name}: set CLUSTER_ID (a \`kafka-storage random-uuid\` value)`),
        );
        continue;
      }
      if (!isValidClusterId(id)) {
        findings.push(
          finding(
            where,
            `${service.name}: CLUSTER_ID '${id}' is not a Kafka UUID (22 base64url characters, 16 bytes, not zero)`,
          ),
        );
      }
      if (reference !== undefined && id !== reference) {
        findings.push(
          finding(where, `${service.name}: CLUSTER_ID differs from the other brokers'; one cluster, one id`),
        );
      }
      reference ??= id;
    }
    return findings;
  },
};

export function isValidClusterId(id: string): boolean {
  if (!/^[A-Za-z0-9_-]{22}$/.test(id)) return false;
  const bytes = Buffer.from(id, 'base64url');
  return bytes.length === 16 && bytes.toString('base64url') === id && bytes.some((byte) => byte !== 0);
}

const BROKER_FACTORS = [
  'KAFKA_DEFAULT_REPLICATION_FACTOR',
  'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
  'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
];

export const replicationRule: Rule = {
  id: 'RULE-MSG-007',
  title: 'replication factors at most the broker count; min.insync.replicas below the replication factor',
  traces: ['REQ-SPC-MSG-002'],
  check(stack) {
    const findings: Finding[] = [];
    const brokerCount = brokers(stack).length;
    for (const service of brokers(stack)) {
      for (const name of BROKER_FACTORS) {
        if (envValue(service, name) === undefined) {
          findings.push(
            finding(envLocation(service, name), `${service.name}: set ${name} (the spec asks for 3)`),
          );
        }
      }
      findings.push(
        ...isrFindings(service, 'KAFKA_MIN_INSYNC_REPLICAS', 'KAFKA_DEFAULT_REPLICATION_FACTOR', true),
      );
      findings.push(
        ...isrFindings(
          service,
          'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR',
          'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
          false,
        ),
      );
    }
    for (const service of stack.services) {
      for (const [name, entry] of environmentOf(service)) {
        if (!name.endsWith('REPLICATION_FACTOR')) continue;
        const factor = Number(entry.value);
        if (!Number.isInteger(factor) || factor === -1) continue;
        if (factor < 1 || factor > brokerCount) {
          findings.push(
            finding(
              envLocation(service, name),
              `${service.name}: ${name}=${entry.value} but the cluster has ${brokerCount} brokers; use 1..${brokerCount}`,
            ),
          );
        }
      }
    }
    return findings;
  },
};

function isrFindings(service: Service, isrName: string, factorName: string, required: boolean): Finding[] {
  const isr = envValue(service, isrName);
  if (isr === undefined) {
    return required
      ? [finding(envLocation(service, isrName), `${service.name}: set ${isrName} (the spec asks for 2)`)]
      : [];
  }
  const factor = Number(envValue(service, factorName) ?? '1');
  if (!(Number(isr) >= 1 && Number(isr) < factor)) {
    return [
      finding(
        envLocation(service, isrName),
        `${service.name}: ${isrName}=${isr} must be at least 1 and below ${factorName}=${factor}, or one lost broker stops acks=all writes`,
      ),
    ];
  }
  return [];
}
