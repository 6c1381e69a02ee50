/**
 * Kafka's `advertised.listeners` for the embedded broker when `listeners` is not given: a
 * comma-separated list of `NAME://HOST:PORT` (IPv6 hosts in brackets). Without `listeners` kstack has
 * one listener, named PLAINTEXT, so the list may name only that one (with `listeners`, the broker
 * reads both settings itself: src/security/listeners.ts); its address is what Metadata, FindCoordinator and DescribeCluster give
 * clients, while the broker keeps listening where `--host`/`--port` say (a proxy or a published
 * container port can sit in between).
 */

/** The one listener kstack has (Kafka's default listener name and security protocol). */
export const LISTENER_NAME = 'PLAINTEXT';

export interface AdvertisedAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `advertised.listeners`. An empty host (`PLAINTEXT://:9092`) means the bind host, as Kafka
 * uses its default host then. Throws with the fault named: a listener other than PLAINTEXT, a name
 * given twice, a malformed entry, a port outside 1-65535, or the non-routable 0.0.0.0 / [::] (which
 * Kafka also refuses to advertise).
 */
export function parseAdvertisedListeners(value: string, bindHost: string): AdvertisedAddress {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0)
    throw new Error(`advertised.listeners is empty; give ${LISTENER_NAME}://HOST:PORT`);
  const seen = new Set<string>();
  let found: AdvertisedAddress | undefined;
  for (const entry of entries) {
    const match = /^([A-Za-z0-9_-]+):\/\/(\[[0-9A-Fa-f:.]*\]|[^:/[\]]*):(\d+)$/.exec(entry);
    if (!match) throw new Error(`advertised.listeners: '${entry}' is not NAME://HOST:PORT`);
    const [, rawName, rawHost, rawPort] = match as unknown as [string, string, string, string];
    const name = rawName.toUpperCase();
    if (seen.has(name)) throw new Error(`advertised.listeners: listener ${name} is given twice`);
    seen.add(name);
    if (name !== LISTENER_NAME) {
      throw new Error(
        `advertised.listeners: listener ${name} is not one kstack has without \`listeners\` (its only listener then is ${LISTENER_NAME}); for several, give --override listeners=${LISTENER_NAME}://HOST:PORT,${name}://HOST:PORT with listener.security.protocol.map (on a cluster node they advertise where they bind)`,
      );
    }
    const port = Number(rawPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`advertised.listeners: port ${rawPort} in '${entry}' is not 1-65535`);
    }
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
    if (host === '0.0.0.0' || host === '::') {
      throw new Error(`advertised.listeners: '${entry}' advertises the non-routable address ${host}`);
    }
    found = { host: host === '' ? bindHost : host, port };
  }
  if (!found) throw new Error(`advertised.listeners names no ${LISTENER_NAME} listener`);
  return found;
}
