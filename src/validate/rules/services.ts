/**
 * Rules every service must meet to run unattended: RULE-MSG-008 (real settings only),
 * -010 (healthchecks), -011 (resource limits and heap), -012 (depends_on) and
 * -015 (restart policy, shared logging template, pinned images).
 */
import { isAlias } from 'yaml';
import {
  commandText,
  environmentOf,
  envLocation,
  imageOf,
  isOneShot,
  maxHeapBytes,
  sizeInBytes,
} from '../service-facts.ts';
import { checkVariable, componentOfImage, imageRepository, imageTag } from '../settings.ts';
import { isMap, locate, type Service, type Stack, serviceByName } from '../stack.ts';
import { type Finding, finding, type Rule } from './rule.ts';

export const settingsRule: Rule = {
  id: 'RULE-MSG-008',
  title: 'every KAFKA_*, SCHEMA_REGISTRY_*, CONNECT_* and KAFKA_REST_* variable is a real setting',
  traces: ['REQ-SPC-MSG-002', 'REQ-SPC-MSG-003'],
  check(stack) {
    const findings: Finding[] = [];
    for (const service of stack.services) {
      const component = componentOfImage(imageOf(service));
      if (component === undefined) continue;
      for (const name of environmentOf(service).keys()) {
        const verdict = checkVariable(component, name);
        if (verdict.kind !== 'unknown') continue;
        findings.push(
          finding(
            envLocation(service, name),
            `${service.name}: ${name} (${verdict.property}) is not a ${component.label} setting; did you mean ${verdict.suggestion}?`,
          ),
        );
      }
    }
    return findings;
  },
};

/** cp images from 8.1 on have no Python, so neither cub nor dub. */
const NO_CUB_SINCE = [8, 1] as const;

export const healthcheckRule: Rule = {
  id: 'RULE-MSG-010',
  title: 'a working healthcheck on every long-running service',
  traces: ['NFR-MSG-001', 'VAL-MSG-PLN-002'],
  check(stack) {
    const findings: Finding[] = [];
    for (const service of stack.services) {
      if (isOneShot(service)) continue;
      const healthcheck = service.data.healthcheck;
      const test = isMap(healthcheck) ? commandText(healthcheck.test) : '';
      if (!isMap(healthcheck) || healthcheck.disable === true || test === '' || test === 'NONE') {
        findings.push(
          finding(
            locate(service, ['healthcheck']),
            `${service.name}: add a healthcheck (a command the image ships)`,
          ),
        );
        continue;
      }
      const where = locate(service, ['healthcheck', 'test']);
      if (/\b(cub|dub)\b/.test(test) && imageHasNoCub(imageOf(service))) {
        findings.push(
          finding(
            where,
            `${service.name}: cp images >= 8.1 ship no cub/dub; ask the service itself (Kafka CLI, curl)`,
          ),
        );
      }
      if (/\bkafka-[a-z-]+/.test(test)) {
        for (const variable of ['KAFKA_OPTS', 'JMX_PORT']) {
          if (!clears(test, variable)) {
            findings.push(
              finding(
                where,
                `${service.name}: the Kafka CLI in the healthcheck inherits ${variable} and collides with the JMX agent's port; start the command with '${variable}='`,
              ),
            );
          }
        }
      }
    }
    return findings;
  },
};

function clears(command: string, variable: string): boolean {
  return new RegExp(`(^|[\\s;&|])(${variable}=|unset ${variable}\\b|-u ${variable}\\b)`).test(command);
}

function imageHasNoCub(image: string): boolean {
  if (!imageRepository(image).startsWith('confluentinc/')) return false;
  const [major = 0, minor = 0] = (imageTag(image) ?? '').split(/[.-]/).map(Number);
  return major > NO_CUB_SINCE[0] || (major === NO_CUB_SINCE[0] && minor >= NO_CUB_SINCE[1]);
}

/** The heap may take at most this share of the memory limit (ADR-0007). */
const HEAP_SHARE_MAX = 0.75;

export const resourcesRule: Rule = {
  id: 'RULE-MSG-011',
  title: 'memory and CPU limits on every service, JVM heap inside the memory limit',
  traces: ['NFR-MSG-001', 'ADR-0007'],
  check(stack) {
    const findings: Finding[] = [];
    for (const service of stack.services) {
      const limits = limitsOf(service);
      if (limits.memory === undefined) {
        findings.push(
          finding(
            locate(service, ['deploy', 'resources', 'limits']),
            `${service.name}: set deploy.resources.limits.memory`,
          ),
        );
      }
      if (limits.cpus === undefined) {
        findings.push(
          finding(
            locate(service, ['deploy', 'resources', 'limits']),
            `${service.name}: set deploy.resources.limits.cpus`,
          ),
        );
      }
      findings.push(...heapFindings(service, limits.memory));
    }
    return findings;
  },
};

function limitsOf(service: Service): { memory: number | undefined; cpus: unknown } {
  const deploy = service.data.deploy;
  const resources = isMap(deploy) ? deploy.resources : undefined;
  const limits = isMap(resources) ? resources.limits : undefined;
  const memory = isMap(limits) ? limits.memory : service.data.mem_limit;
  const cpus = isMap(limits) && limits.cpus !== undefined ? limits.cpus : service.data.cpus;
  return { memory: sizeInBytes(memory), cpus };
}

function heapFindings(service: Service, memoryBytes: number | undefined): Finding[] {
  const findings: Finding[] = [];
  let heapSet = false;
  for (const [name, entry] of environmentOf(service)) {
    const heap = maxHeapBytes(entry.value);
    if (heap === undefined) continue;
    heapSet = true;
    if (memoryBytes !== undefined && heap > memoryBytes * HEAP_SHARE_MAX) {
      findings.push(
        finding(
          envLocation(service, name),
          `${service.name}: ${name} gives the heap ${mib(heap)} of a ${mib(memoryBytes)} limit; keep it at most ${HEAP_SHARE_MAX * 100}% (ADR-0007)`,
        ),
      );
    }
  }
  if (!heapSet && isJvmImage(imageOf(service)) && service.data.entrypoint === undefined) {
    findings.push(
      finding(
        locate(service, ['environment']),
        `${service.name}: size the JVM heap (-Xmx) inside the memory limit`,
      ),
    );
  }
  return findings;
}

function isJvmImage(image: string): boolean {
  const repository = imageRepository(image);
  return repository.startsWith('confluentinc/') || repository === 'kafbat/kafka-ui';
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

export const dependsOnRule: Rule = {
  id: 'RULE-MSG-012',
  title: 'depends_on targets exist and are waited for with the right condition',
  traces: ['NFR-MSG-001', 'ADR-0005', 'VAL-MSG-PLN-002'],
  check(stack) {
    return stack.services.flatMap((service) => dependsOnFindings(stack, service));
  },
};

function dependsOnFindings(stack: Stack, service: Service): Finding[] {
  const dependsOn = service.data.depends_on;
  if (dependsOn === undefined) return [];
  if (Array.isArray(dependsOn)) {
    return [
      finding(
        locate(service, ['depends_on']),
        `${service.name}: use the long depends_on form with a condition`,
      ),
    ];
  }
  if (!isMap(dependsOn)) return [];
  const findings: Finding[] = [];
  for (const [target, settings] of Object.entries(dependsOn)) {
    const where = locate(service, ['depends_on', target]);
    const other = serviceByName(stack, target);
    if (other === undefined) {
      findings.push(finding(where, `${service.name} depends on '${target}', which no file defines`));
      continue;
    }
    const condition = isMap(settings) ? settings.condition : undefined;
    const wanted = isOneShot(other) ? 'service_completed_successfully' : 'service_healthy';
    if (condition !== wanted) {
      findings.push(finding(where, `${service.name}: wait for ${target} with condition: ${wanted}`));
    }
    if (wanted === 'service_healthy' && !isMap(other.data.healthcheck)) {
      findings.push(
        finding(where, `${service.name} waits for ${target} to be healthy, but ${target} has no healthcheck`),
      );
    }
  }
  return findings;
}

const RESTART_LONG_RUNNING = ['always', 'unless-stopped'];

export const conventionsRule: Rule = {
  id: 'RULE-MSG-015',
  title: 'restart policy, the shared logging template and a pinned image on every service',
  traces: ['NFR-MSG-001', 'OPS-MSG-001'],
  check(stack) {
    const findings: Finding[] = [];
    for (const service of stack.services) {
      const restart = service.data.restart;
      if (
        restart !== 'no' &&
        !RESTART_LONG_RUNNING.includes(String(restart)) &&
        !String(restart).startsWith('on-failure')
      ) {
        findings.push(
          finding(
            locate(service, ['restart']),
            `${service.name}: set restart (unless-stopped, or "no" for a one-shot job)`,
          ),
        );
      }
      findings.push(...loggingFindings(service));
      const image = imageOf(service);
      const tag = imageTag(image);
      if (!image.includes('@') && (tag === undefined || tag === 'latest')) {
        findings.push(
          finding(
            locate(service, ['image']),
            `${service.name}: pin the image to a version tag, not '${tag ?? 'latest'}'`,
          ),
        );
      }
    }
    return findings;
  },
};

function loggingFindings(service: Service): Finding[] {
  const node = service.file.source.nodeAt(['services', service.name, 'logging']);
  const template = isAlias(node) ? String(node.source) : undefined;
  const templateValue = template === undefined ? undefined : anchoredExtension(service, template);
  if (template === undefined || templateValue === undefined) {
    return [
      finding(
        locate(service, ['logging']),
        `${service.name}: use the shared logging template (logging: *logging)`,
      ),
    ];
  }
  const driver = isMap(templateValue) ? String(templateValue.driver ?? '') : '';
  if (!driver.includes('${')) {
    return [
      finding(
        locate(service, ['logging']),
        `${service.name}: the logging template's driver must come from a variable`,
      ),
    ];
  }
  return [];
}

/** The `x-` extension whose value the anchor names, if the anchor sits on one. */
function anchoredExtension(service: Service, anchor: string): unknown {
  for (const [key, value] of Object.entries(service.file.raw)) {
    if (!key.startsWith('x-')) continue;
    const node = service.file.source.nodeAt([key]) as { anchor?: string } | undefined;
    if (node?.anchor === anchor) return value;
  }
  return undefined;
}
