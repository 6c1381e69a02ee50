/**
 * Rules about where services live and how they find each other: RULE-MSG-001 (the
 * messaging profile), -003 (DNS only) and -009 (host ports from the env file).
 */
import {
  bootstrapHosts,
  commandText,
  environmentOf,
  ipLiterals,
  isBroker,
  portsOf,
  splitList,
} from '../service-facts.ts';
import { isMap, locate, type Service, type Stack, serviceByName } from '../stack.ts';
import type { PathSegment } from '../yaml-source.ts';
import { EXPECTED_BROKERS, type Finding, finding, type Rule, rootLocation } from './rule.ts';

export const PROFILE = 'messaging';
export const NETWORK = 'infra_net';

export const profileRule: Rule = {
  id: 'RULE-MSG-001',
  title: 'every service carries the messaging profile',
  traces: ['REQ-SPC-MSG-001', 'VAL-MSG-PLN-001'],
  check(stack) {
    if (stack.services.length === 0) {
      return [
        finding(
          rootLocation(stack),
          'no services: include infra/05-messaging/kafka/docker-compose.yml from the root file',
        ),
      ];
    }
    return stack.services
      .filter((service) => !(Array.isArray(service.data.profiles) && service.data.profiles.includes(PROFILE)))
      .map((service) =>
        finding(
          locate(service, ['profiles']),
          `${service.name} is not gated: add \`profiles: [${PROFILE}]\``,
        ),
      );
  },
};

export const dnsOnlyRule: Rule = {
  id: 'RULE-MSG-003',
  title: 'DNS only: infra_net, no static addresses, no IP literals, bootstrap lists name kafka-1..3',
  traces: ['REQ-SPC-MSG-003', 'VAL-MSG-PLN-001'],
  check(stack) {
    const findings: Finding[] = [];
    const brokerNames = stack.services.filter(isBroker).map((service) => service.name);
    for (const service of stack.services) {
      findings.push(...networkFindings(service));
      findings.push(...ipLiteralFindings(service, service.data, []));
      findings.push(...bootstrapFindings(service, brokerNames));
    }
    for (const file of stack.files) {
      const networks = file.data.networks;
      if (!isMap(networks)) continue;
      for (const [name, network] of Object.entries(networks)) {
        if (isMap(network) && network.ipam !== undefined) {
          findings.push(
            finding(
              { file: file.source.displayPath, line: file.source.lineOf(['networks', name, 'ipam']) },
              `network ${name} pins address ranges (ipam); remove it and let Docker assign addresses`,
            ),
          );
        }
      }
    }
    return findings;
  },
};

function networkFindings(service: Service): Finding[] {
  const findings: Finding[] = [];
  if (service.data.network_mode !== undefined) {
    findings.push(
      finding(locate(service, ['network_mode']), `${service.name}: remove network_mode; join ${NETWORK}`),
    );
  }
  const networks = service.data.networks;
  const names = Array.isArray(networks) ? networks.map(String) : isMap(networks) ? Object.keys(networks) : [];
  if (!names.includes(NETWORK)) {
    findings.push(finding(locate(service, ['networks']), `${service.name}: join the ${NETWORK} network`));
  }
  if (isMap(networks)) {
    for (const [name, settings] of Object.entries(networks)) {
      for (const key of ['ipv4_address', 'ipv6_address', 'link_local_ips']) {
        if (isMap(settings) && settings[key] !== undefined) {
          findings.push(
            finding(
              locate(service, ['networks', name, key]),
              `${service.name}: remove ${key}; services are reached by DNS name`,
            ),
          );
        }
      }
    }
  }
  return findings;
}

function ipLiteralFindings(service: Service, value: unknown, path: PathSegment[]): Finding[] {
  if (typeof value === 'string') {
    const found = ipLiterals(value);
    return found.length === 0
      ? []
      : [
          finding(
            locate(service, path),
            `${service.name}: IP literal ${found.join(', ')} in ${path.join('.')}; use a service name (or omit the host to bind all interfaces)`,
          ),
        ];
  }
  if (Array.isArray(value))
    return value.flatMap((item, index) => ipLiteralFindings(service, item, [...path, index]));
  if (isMap(value)) {
    return Object.entries(value).flatMap(([key, item]) => [
      ...(ipLiterals(key).length > 0 && path.length > 0
        ? [
            finding(
              locate(service, [...path, key]),
              `${service.name}: IP literal ${key} in ${path.join('.')}`,
            ),
          ]
        : []),
      ...ipLiteralFindings(service, item, [...path, key]),
    ]);
  }
  return [];
}

const BOOTSTRAP_VARIABLE = /BOOTSTRAP_?SERVERS$/;
const BOOTSTRAP_FLAGS = ['--bootstrap-server', '--bootstrap-servers', '--kafka.server', '--broker-list'];

function bootstrapFindings(service: Service, brokerNames: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  const expected = brokerNames.length > 0 ? brokerNames : [...EXPECTED_BROKERS];
  const judge = (hosts: readonly string[], path: PathSegment[], what: string): void => {
    const strangers = hosts.filter((host) => !expected.includes(host));
    const missing = expected.filter((name) => !hosts.includes(name));
    if (strangers.length > 0 || missing.length > 0) {
      findings.push(
        finding(
          locate(service, path),
          `${service.name}: ${what} must name the brokers by DNS name (${expected.join(', ')})` +
            (strangers.length > 0 ? `; not ${strangers.join(', ')}` : '') +
            (missing.length > 0 ? `; missing ${missing.join(', ')}` : ''),
        ),
      );
    }
  };
  for (const [name, entry] of environmentOf(service)) {
    if (BOOTSTRAP_VARIABLE.test(name)) judge(bootstrapHosts(entry.value), [...entry.path], name);
  }
  for (const key of ['command', 'entrypoint'] as const) {
    const hosts = flagValues(service.data[key]).flatMap((value) => bootstrapHosts(value));
    if (hosts.length > 0) judge(hosts, [key], `the bootstrap servers in ${key}`);
  }
  return findings;
}

/** Values of bootstrap flags in a command, in `--flag=value` or `--flag value` form. */
function flagValues(command: unknown): string[] {
  const words = Array.isArray(command) ? command.map(String) : commandText(command).split(/\s+/);
  const values: string[] = [];
  words.forEach((word, index) => {
    for (const flag of BOOTSTRAP_FLAGS) {
      if (word.startsWith(`${flag}=`)) values.push(word.slice(flag.length + 1));
      else if (word === flag && words[index + 1] !== undefined) values.push(words[index + 1] ?? '');
    }
  });
  return values.flatMap((value) => splitList(value));
}

const PORT_VARIABLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}$/;

export const hostPortsRule: Rule = {
  id: 'RULE-MSG-009',
  title: 'host ports unique and taken from the env file',
  traces: ['NFR-MSG-002', 'VAL-MSG-PLN-001'],
  check(stack) {
    const findings: Finding[] = [];
    const taken = new Map<string, string>();
    const envName = stack.env?.displayPath ?? '.env.example';
    for (const service of stack.services) {
      for (const port of portsOf(service)) {
        if (port.host === undefined) continue;
        const where = locate(service, [...port.path]);
        const variable = PORT_VARIABLE.exec(port.rawHost ?? '')?.[1];
        if (variable === undefined) {
          findings.push(
            finding(
              where,
              `${service.name}: publish host port '${port.rawHost ?? port.host}' as \${NAME:-${port.host}} so it can be moved`,
            ),
          );
        } else {
          const entry = stack.env?.entries.get(variable);
          if (entry === undefined) {
            findings.push(
              finding(
                where,
                `${service.name}: add ${variable} to ${envName}, with a comment saying what it is`,
              ),
            );
          } else if (!entry.documented) {
            findings.push(
              finding(
                { file: envName, line: entry.line },
                `${variable}: put a comment above it saying which port it is`,
              ),
            );
          }
        }
        const key = `${port.host}/${port.protocol}`;
        const owner = taken.get(key);
        if (owner !== undefined) {
          findings.push(
            finding(where, `${service.name}: host port ${port.host} is already published by ${owner}`),
          );
        }
        taken.set(key, service.name);
      }
    }
    findings.push(...firstBrokerPortFindings(stack));
    return findings;
  },
};

/** Clients look for Kafka on localhost:9092 first, so kafka-1 answers there by default. */
const FIRST_BROKER_DEFAULT_PORT = '9092';

function firstBrokerPortFindings(stack: Stack): Finding[] {
  const first = serviceByName(stack, EXPECTED_BROKERS[0]);
  const port = first === undefined ? undefined : portsOf(first)[0];
  if (first === undefined || port === undefined) return [];
  const fallback = /:-(\d+)\}$/.exec(port.rawHost ?? '')?.[1];
  return fallback === FIRST_BROKER_DEFAULT_PORT
    ? []
    : [
        finding(
          locate(first, [...port.path]),
          `${first.name}: its external host port must default to ${FIRST_BROKER_DEFAULT_PORT} (\${NAME:-${FIRST_BROKER_DEFAULT_PORT}})`,
        ),
      ];
}
