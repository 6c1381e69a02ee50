/**
 * Connection quotas as Kafka's ConnectionQuotas applies them when its acceptor takes a connection, for
 * the whole broker (every listener):
 * - `max.connections.per.ip` (default 2^31-1) and `max.connections.per.ip.overrides`
 *   (`host:count,host:count`): a connection from an address already holding its maximum is accepted
 *   and closed at once, before any request is read (TooManyConnectionsException);
 * - the `ip` quota `connection_creation_rate` (KIP-612; the entity's own address, else the default
 *   `ip` entity, else none): each new connection is recorded on the address's Rate sensor
 *   (`quota.window.num` × `quota.window.size.seconds`, as the client quotas); one that takes the rate
 *   over the quota is accepted and held unread for the throttle time, then closed
 *   (ConnectionThrottledException, the acceptor's delayed close), the throttle bounded by one window.
 * The rate is recorded before the per-address count is checked, as Kafka does, so refused connections
 * count too; a throttled connection is not counted as open.
 */
import type { BrokerConfig } from '../broker/config.ts';
import {
  type ClientQuotaStore,
  ENTITY_IP,
  QUOTA_SENSORS_MAX,
  QUOTA_WINDOW_NUM,
  QUOTA_WINDOW_SIZE_MS,
  RateSensor,
  throttleTimeMs,
} from './quotas.ts';

export const CONNECTION_CREATION_RATE = 'connection_creation_rate';

/** What the server does with a connection it has just accepted. */
export type Admission =
  | { readonly kind: 'serve'; readonly release: () => void }
  | { readonly kind: 'close'; readonly reason: string }
  | { readonly kind: 'close-after'; readonly delayMs: number; readonly reason: string };

/** The server's side: asked once per accepted connection, before any of its bytes is read. */
export interface ConnectionAdmission {
  admit(remoteAddress: string): Admission;
}

export class ConnectionQuotaConfigError extends Error {}

/** `max.connections.per.ip.overrides`: `host:count` pairs, comma-separated, as Kafka parses them. */
export function parsePerIpOverrides(value: string): Map<string, number> {
  const overrides = new Map<string, number>();
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const at = entry.lastIndexOf(':');
    const host = entry.slice(0, at).trim();
    const count = Number(entry.slice(at + 1).trim());
    if (at <= 0 || !Number.isInteger(count) || count < 0) {
      throw new ConnectionQuotaConfigError(
        `Invalid value ${value} for configuration max.connections.per.ip.overrides: entry '${entry}' is not host:count`,
      );
    }
    overrides.set(normalizeAddress(host), count);
  }
  return overrides;
}

/** An IPv4 client over an IPv6 socket is named `::ffff:a.b.c.d`: counted as a.b.c.d. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

export interface ConnectionQuotaOptions {
  readonly maxPerIp: number;
  readonly overrides: ReadonlyMap<string, number>;
  /** The `ip` quotas (null: none configured). */
  readonly quotas: () => ClientQuotaStore | undefined;
  readonly now?: () => number;
  readonly log?: { info(message: string): void };
}

/** Reads `max.connections.per.ip` and its overrides from a broker's config (refusals name the setting). */
export function connectionQuotaOptions(
  config: BrokerConfig,
  quotas: () => ClientQuotaStore | undefined,
): ConnectionQuotaOptions {
  const maxPerIp = config.getNumber('max.connections.per.ip');
  const overrides = parsePerIpOverrides(config.getString('max.connections.per.ip.overrides') ?? '');
  // Kafka's KafkaConfig check.
  if (maxPerIp === 0 && overrides.size === 0) {
    throw new ConnectionQuotaConfigError(
      'Invalid value 0 for configuration max.connections.per.ip: If max.connections.per.ip is 0, max.connections.per.ip.overrides must be set',
    );
  }
  return { maxPerIp, overrides, quotas };
}

export class ConnectionQuotas implements ConnectionAdmission {
  readonly #options: ConnectionQuotaOptions;
  readonly #open = new Map<string, number>();
  /** Per address: its sensor and the quota it was made for (a changed quota starts a new sensor). */
  readonly #sensors = new Map<string, { sensor: RateSensor; quota: number }>();
  readonly #now: () => number;

  constructor(options: ConnectionQuotaOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Open connections counted for `address`. */
  openFrom(address: string): number {
    return this.#open.get(normalizeAddress(address)) ?? 0;
  }

  admit(remoteAddress: string): Admission {
    const address = normalizeAddress(remoteAddress);
    const throttleMs = this.#recordCreation(address);
    if (throttleMs > 0) {
      return {
        kind: 'close-after',
        delayMs: throttleMs,
        reason: `connection_creation_rate of ${address} exceeded: closing it after ${throttleMs} ms`,
      };
    }
    const open = this.#open.get(address) ?? 0;
    const max = this.#options.overrides.get(address) ?? this.#options.maxPerIp;
    if (open >= max) {
      return {
        kind: 'close',
        reason: `Rejected connection from ${address}, address already has the configured maximum of ${max} connections.`,
      };
    }
    this.#open.set(address, open + 1);
    let released = false;
    return {
      kind: 'serve',
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#open.get(address) ?? 1) - 1;
        if (left <= 0) this.#open.delete(address);
        else this.#open.set(address, left);
      },
    };
  }

  /** Records the new connection on the address's rate sensor; its throttle in ms (0: within the quota). */
  #recordCreation(address: string): number {
    const quota = this.#ipQuota(address);
    if (quota === undefined) return 0;
    let entry = this.#sensors.get(address);
    if (entry === undefined || entry.quota !== quota) {
      if (entry === undefined && this.#sensors.size >= QUOTA_SENSORS_MAX) this.#dropIdleSensors();
      entry = { sensor: new RateSensor(QUOTA_WINDOW_NUM, QUOTA_WINDOW_SIZE_MS), quota };
      this.#sensors.set(address, entry);
    }
    const now = this.#now();
    entry.sensor.record(1, now);
    // Kafka bounds a connection's throttle by one quota window (ConnectionQuotas.maxThrottleTimeMs).
    return Math.min(throttleTimeMs(entry.sensor, quota, now), QUOTA_WINDOW_SIZE_MS);
  }

  #ipQuota(address: string): number | undefined {
    const store = this.#options.quotas();
    if (store === undefined || store.size === 0) return undefined;
    return (
      store.get(new Map([[ENTITY_IP, address]]), CONNECTION_CREATION_RATE) ??
      store.get(new Map([[ENTITY_IP, null]]), CONNECTION_CREATION_RATE)
    );
  }

  /** Sensors idle for all their windows hold no rate: dropped when the bound on sensors is reached. */
  #dropIdleSensors(): void {
    const idleBefore = this.#now() - QUOTA_WINDOW_NUM * QUOTA_WINDOW_SIZE_MS;
    for (const [address, { sensor }] of this.#sensors) {
      if (sensor.lastRecordMs < idleBefore) this.#sensors.delete(address);
    }
  }
}
