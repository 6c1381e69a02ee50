/**
 * RULE-MSG-013: the one-shot kafka-init creates the baseline topics from a topics file in
 * the repository, idempotently (`--create --if-not-exists`), and that file is sound.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { commandText, envValue, isBroker, isOneShot, mountsOf } from '../service-facts.ts';
import { locate, type Service, type Stack, serviceByName } from '../stack.ts';
import { type Finding, finding, type Rule } from './rule.ts';

export const INIT_SERVICE = 'kafka-init';
export const BASELINE_TOPIC = 'events-topic';
const BASELINE_REPLICATION_FACTOR = 3;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export interface TopicLine {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
  readonly line: number;
}

/** Parses the topics file format (see infra/05-messaging/kafka/init/topics.txt). */
export function parseTopicsFile(text: string): {
  topics: TopicLine[];
  errors: { line: number; message: string }[];
} {
  const topics: TopicLine[] = [];
  const errors: { line: number; message: string }[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = index + 1;
    const fields = (rawLine.split('#')[0] ?? '').trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    const [name = '', partitions = '', factor = '', ...rest] = fields;
    if (!TOPIC_NAME.test(name)) errors.push({ line, message: `'${name}' is not a valid topic name` });
    if (!/^\d+$/.test(partitions) || Number(partitions) < 1) {
      errors.push({ line, message: `partitions '${partitions}' must be a whole number of at least 1` });
    }
    if (!/^\d+$/.test(factor))
      errors.push({ line, message: `replication factor '${factor}' must be a whole number` });
    const configs = new Map<string, string>();
    for (const item of rest) {
      const equals = item.indexOf('=');
      if (equals <= 0) errors.push({ line, message: `'${item}' must be CONFIG=VALUE` });
      else configs.set(item.slice(0, equals), item.slice(equals + 1));
    }
    topics.push({ name, partitions: Number(partitions), replicationFactor: Number(factor), configs, line });
  });
  return { topics, errors };
}

export const baselineTopicsRule: Rule = {
  id: 'RULE-MSG-013',
  title:
    'kafka-init creates the baseline topics from the repository topics file with --create --if-not-exists',
  traces: ['AC-MSG-001', 'VAL-MSG-PLN-003', 'ADR-0005'],
  check(stack) {
    const init = serviceByName(stack, INIT_SERVICE);
    if (init === undefined) {
      return [
        finding({ file: stack.root.source.displayPath, line: 1 }, `add the one-shot ${INIT_SERVICE} service`),
      ];
    }
    const findings: Finding[] = [];
    if (!isOneShot(init))
      findings.push(finding(locate(init, ['restart']), `${INIT_SERVICE} is a one-shot job: restart: "no"`));
    findings.push(...commandFindings(init));
    findings.push(...topicsFileFindings(stack, init));
    return findings;
  },
};

/** Text that runs: the entrypoint and command, plus any repository script they name. */
function commandFindings(init: Service): Finding[] {
  const invoked = `${commandText(init.data.entrypoint)} ${commandText(init.data.command)}`;
  let text = invoked;
  for (const mount of mountsOf(init)) {
    if (mount.type !== 'bind' || !invoked.includes(mount.target)) continue;
    const path = resolve(init.file.projectDir, mount.source);
    if (existsSync(path)) text += `\n${readFileSync(path, 'utf8')}`;
  }
  const missing = ['--create', '--if-not-exists'].filter((flag) => !text.includes(flag));
  return missing.length === 0
    ? []
    : [
        finding(
          locate(init, ['entrypoint']),
          `${INIT_SERVICE} must run kafka-topics with ${missing.join(' and ')}`,
        ),
      ];
}

function topicsFileFindings(stack: Stack, init: Service): Finding[] {
  const target = envValue(init, 'TOPICS_FILE');
  const mount = mountsOf(init).find((candidate) => candidate.type === 'bind' && candidate.target === target);
  if (target === undefined || mount === undefined) {
    return [
      finding(
        locate(init, ['volumes']),
        `${INIT_SERVICE}: bind-mount the topics file and name it in TOPICS_FILE`,
      ),
    ];
  }
  const path = resolve(init.file.projectDir, mount.source);
  const display = relative(stack.root.projectDir, path);
  if (!existsSync(path)) {
    return [finding(locate(init, [...mount.path]), `${INIT_SERVICE}: topics file ${display} does not exist`)];
  }
  const brokerCount = stack.services.filter(isBroker).length;
  const { topics, errors } = parseTopicsFile(readFileSync(path, 'utf8'));
  const findings = errors.map((error) => finding({ file: display, line: error.line }, error.message));
  for (const topic of topics) {
    if (topic.replicationFactor < 1 || topic.replicationFactor > brokerCount) {
      findings.push(
        finding(
          { file: display, line: topic.line },
          `${topic.name}: replication factor ${topic.replicationFactor} with ${brokerCount} brokers; use 1..${brokerCount}`,
        ),
      );
    }
    const isr = topic.configs.get('min.insync.replicas');
    if (isr !== undefined && !(Number(isr) >= 1 && Number(isr) < topic.replicationFactor)) {
      findings.push(
        finding(
          { file: display, line: topic.line },
          `${topic.name}: min.insync.replicas=${isr} must be below its replication factor`,
        ),
      );
    }
  }
  const baseline = topics.find((topic) => topic.name === BASELINE_TOPIC);
  if (baseline === undefined || baseline.replicationFactor !== BASELINE_REPLICATION_FACTOR) {
    findings.push(
      finding(
        { file: display, line: baseline?.line ?? 1 },
        `list ${BASELINE_TOPIC} with replication factor ${BASELINE_REPLICATION_FACTOR} (AC-MSG-001)`,
      ),
    );
  }
  return findings;
}
