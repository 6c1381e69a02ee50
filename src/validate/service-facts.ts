/**
 * Reading a service's settings in the shapes Compose allows (environment as a map or a
 * list, ports and volumes in short or long syntax) and the Kafka values inside them
 * (listener lists, quorum voters, bootstrap lists, heap sizes). Pure functions of the
 * loaded data: every one returns what it found together with where it was written.
 */
import { isIPv6 } from 'node:net';
import { componentOfImage } from './settings.ts';
import { isMap, type Location, locate, type Service } from './stack.ts';
import type { PathSegment } from './yaml-source.ts';

export interface EnvValue {
  readonly value: string;
  readonly path: readonly PathSegment[];
}

/** The service's environment after interpolation, each value with its path for lineOf. */
export function environmentOf(service: Service): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  const environment = service.data.environment;
  if (Array.isArray(environment)) {
    environment.forEach((item: unknown, index) => {
      const text = String(item);
      const equals = text.indexOf('=');
      const name = equals < 0 ? text : text.slice(0, equals);
      env.set(name, { value: equals < 0 ? '' : text.slice(equals + 1), path: ['environment', index] });
    });
  } else if (isMap(environment)) {
    for (const [name, value] of Object.entries(environment)) {
      env.set(name, { value: value === null ? '' : String(value), path: ['environment', name] });
    }
  }
  return env;
}

export function envValue(service: Service, name: string): string | undefined {
  return environmentOf(service).get(name)?.value;
}

export function envLocation(service: Service, name: string): Location {
  const entry = environmentOf(service).get(name);
  return locate(service, entry?.path ?? ['environment']);
}

export function imageOf(service: Service): string {
  return typeof service.data.image === 'string' ? service.data.image : '';
}

/** A Kafka broker: a broker image started with its own entrypoint (kafka-init reuses the image). */
export function isBroker(service: Service): boolean {
  const component = componentOfImage(imageOf(service));
  return (
    component?.prefix === 'KAFKA_' &&
    service.data.entrypoint === undefined &&
    service.data.command === undefined
  );
}

/** A one-shot job: it runs to completion and is never restarted. */
export function isOneShot(service: Service): boolean {
  return service.data.restart === 'no';
}

export interface PortMapping {
  readonly hostIp: string | undefined;
  /** Host port as Compose will publish it, after interpolation. */
  readonly host: string | undefined;
  /** Host port as written, before interpolation. */
  readonly rawHost: string | undefined;
  readonly container: string;
  readonly protocol: string;
  readonly path: readonly PathSegment[];
}

export function portsOf(service: Service): PortMapping[] {
  const ports = service.data.ports;
  const rawPorts = service.raw.ports;
  if (!Array.isArray(ports)) return [];
  return ports.map((item: unknown, index) => {
    const raw: unknown = Array.isArray(rawPorts) ? rawPorts[index] : undefined;
    const path: PathSegment[] = ['ports', index];
    if (isMap(item)) {
      const rawHost = isMap(raw) && raw.published !== undefined ? String(raw.published) : undefined;
      return {
        hostIp: typeof item.host_ip === 'string' ? item.host_ip : undefined,
        host: item.published === undefined ? undefined : String(item.published),
        rawHost,
        container: String(item.target ?? ''),
        protocol: typeof item.protocol === 'string' ? item.protocol : 'tcp',
        path,
      };
    }
    const parsed = splitShortPort(String(item));
    const rawParsed = raw === undefined ? undefined : splitRawHost(String(raw));
    return { ...parsed, rawHost: rawParsed, path };
  });
}

function splitShortPort(text: string): Omit<PortMapping, 'rawHost' | 'path'> {
  const [spec, protocol = 'tcp'] = text.split('/');
  const parts = (spec ?? '').split(':');
  const container = parts.pop() ?? '';
  const host = parts.pop();
  const hostIp = parts.length > 0 ? parts.join(':') : undefined;
  return { hostIp, host: host === '' ? undefined : host, container, protocol };
}

/** The host part of a short port as written: `${VAR:-9092}:9092` -> `${VAR:-9092}`. */
function splitRawHost(text: string): string | undefined {
  const spec = text.split('/')[0] ?? '';
  let depth = 0;
  let lastColon = -1;
  for (let index = 0; index < spec.length; index += 1) {
    const char = spec[index];
    if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    else if (char === ':' && depth === 0) lastColon = index;
  }
  if (lastColon < 0) return undefined;
  const head = spec.slice(0, lastColon);
  let start = 0;
  depth = 0;
  for (let index = 0; index < head.length; index += 1) {
    const char = head[index];
    if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    else if (char === ':' && depth === 0) start = index + 1;
  }
  return head.slice(start);
}

export interface Mount {
  readonly type: string;
  readonly source: string;
  readonly rawSource: string;
  readonly target: string;
  readonly path: readonly PathSegment[];
}

export function mountsOf(service: Service): Mount[] {
  const volumes = service.data.volumes;
  const rawVolumes = service.raw.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.map((item: unknown, index) => {
    const raw: unknown = Array.isArray(rawVolumes) ? rawVolumes[index] : undefined;
    const path: PathSegment[] = ['volumes', index];
    if (isMap(item)) {
      return {
        type: String(item.type ?? 'volume'),
        source: String(item.source ?? ''),
        rawSource: isMap(raw) ? String(raw.source ?? '') : '',
        target: String(item.target ?? ''),
        path,
      };
    }
    const [source = '', target = ''] = String(item).split(':');
    const rawSource = typeof raw === 'string' ? raw.slice(0, raw.lastIndexOf(`:${target}`)) : '';
    const type =
      source.startsWith('.') || source.startsWith('/') || source.startsWith('~') ? 'bind' : 'volume';
    return { type, source, rawSource, target, path };
  });
}

export interface KafkaListener {
  readonly name: string;
  readonly host: string;
  readonly port: string;
}

/** `INTERNAL://kafka-1:19092,EXTERNAL://localhost:9092` -> name/host/port triples. */
export function parseListeners(text: string): KafkaListener[] {
  return splitList(text).map((entry) => {
    const match = /^([A-Za-z0-9_-]+):\/\/(\[[^\]]*\]|[^:]*):(\d*)$/.exec(entry);
    return match === null
      ? { name: entry, host: '', port: '' }
      : { name: (match[1] ?? '').toUpperCase(), host: match[2] ?? '', port: match[3] ?? '' };
  });
}

/** `INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT` -> listener name -> protocol. */
export function parseProtocolMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of splitList(text)) {
    const [name = '', protocol = ''] = entry.split(':');
    map.set(name.toUpperCase(), protocol.toUpperCase());
  }
  return map;
}

export interface Voter {
  readonly id: string;
  readonly host: string;
  readonly port: string;
}

/** `1@kafka-1:29093,...` -> voters. */
export function parseVoters(text: string): Voter[] {
  return splitList(text).map((entry) => {
    const match = /^(\d+)@(\[[^\]]*\]|[^:]+):(\d+)$/.exec(entry);
    return match === null
      ? { id: '', host: entry, port: '' }
      : { id: match[1] ?? '', host: match[2] ?? '', port: match[3] ?? '' };
  });
}

/** Host names of a bootstrap list, with or without `PROTOCOL://` in front. */
export function bootstrapHosts(text: string): string[] {
  return splitList(text).map((entry) => {
    const withoutScheme = entry.includes('://') ? entry.slice(entry.indexOf('://') + 3) : entry;
    const colon = withoutScheme.lastIndexOf(':');
    return colon < 0 ? withoutScheme : withoutScheme.slice(0, colon);
  });
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const IPV4 = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])/g;

/** IP address literals written in `text` (IPv4 dotted quads and IPv6 addresses). */
export function ipLiterals(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(IPV4)) {
    if (match.slice(1, 5).every((octet) => Number(octet) <= 255)) found.push(match[0]);
  }
  for (const token of text.split(/[\s,;=@/"'()[\]]+/)) {
    if (token.includes(':') && isIPv6(token)) found.push(token);
  }
  return found;
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Compose memory sizes (`512m`, `1g`, `1GB`, bytes as a number) in bytes. */
export function sizeInBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * (SIZE_UNITS[(match[2] || 'b').toLowerCase()] ?? 1);
}

/** The largest -Xmx in a JVM options string, in bytes. */
export function maxHeapBytes(options: string): number | undefined {
  let largest: number | undefined;
  for (const match of options.matchAll(/-Xmx(\d+)([kmgt]?)/gi)) {
    const bytes = Number(match[1]) * (SIZE_UNITS[(match[2] || 'b').toLowerCase()] ?? 1);
    largest = largest === undefined ? bytes : Math.max(largest, bytes);
  }
  return largest;
}

/** A healthcheck or command as one string, whatever form it was written in. */
export function commandText(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(' ');
  return typeof value === 'string' ? value : '';
}
