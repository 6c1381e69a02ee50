/**
 * Kafka's listener settings for the embedded broker: `listeners`, `advertised.listeners` and
 * `listener.security.protocol.map`, read as Kafka reads them. Each listener is a name, a bind
 * address and a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); the broker opens one
 * server socket per listener, and Metadata gives a client the advertised address of the listener
 * it came in on.
 */

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** Kafka's SecurityProtocol ids, as BrokerRegistration and RegisterBrokerRecord carry them. */
export const SECURITY_PROTOCOL_IDS: Readonly<Record<SecurityProtocol, number>> = {
  PLAINTEXT: 0,
  SSL: 1,
  SASL_PLAINTEXT: 2,
  SASL_SSL: 3,
};

/** Kafka 4's default `listener.security.protocol.map`: each protocol is a listener name of itself. */
export const DEFAULT_SECURITY_PROTOCOL_MAP =
  'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT';

/** Kafka's listener-name syntax (ListenerName is upper-cased; the name part of `NAME://`). */
const LISTENER_ENTRY = /^([A-Za-z0-9_-]+):\/\/(\[[0-9A-Fa-f:.]*\]|[^:/[\]]*):(\d+)$/;

export interface ListenerAddress {
  /** Upper-case listener name, e.g. `SASL_PLAINTEXT` or `EXTERNAL`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** One listener the broker serves. */
export interface Listener {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  /** Where the broker binds (the empty host of `PLAINTEXT://:9092` is the bind host given). */
  readonly host: string;
  /** 0 asks the system for a free port (tests). */
  readonly port: number;
  /** What Metadata gives clients of this listener; undefined: the bound host and port. */
  readonly advertised?: { readonly host: string; readonly port: number };
}

/** A listener setting that is not what Kafka accepts; the message names the setting and the fault. */
export class ListenerConfigError extends Error {}

/** Parses a `NAME://HOST:PORT,...` list (`listeners`, `advertised.listeners`). */
export function parseListenerList(setting: string, value: string, defaultHost: string): ListenerAddress[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new ListenerConfigError(`${setting} is empty; give NAME://HOST:PORT`);
  const seen = new Set<string>();
  return entries.map((entry) => {
    const match = LISTENER_ENTRY.exec(entry);
    if (!match) throw new ListenerConfigError(`${setting}: '${entry}' is not NAME://HOST:PORT`);
    const [, rawName, rawHost, rawPort] = match as unknown as [string, string, string, string];
    const name = rawName.toUpperCase();
    if (seen.has(name)) throw new ListenerConfigError(`${setting}: listener ${name} is given twice`);
    seen.add(name);
    const port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ListenerConfigError(`${setting}: port ${rawPort} in '${entry}' is not 0-65535`);
    }
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
    return { name, host: host === '' ? defaultHost : host, port };
  });
}

/** Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`) into upper-case names. */
export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const at = entry.indexOf(':');
    const name = entry.slice(0, at).trim().toUpperCase();
    const protocol = entry
      .slice(at + 1)
      .trim()
      .toUpperCase();
    if (at <= 0 || name === '') {
      throw new ListenerConfigError(`listener.security.protocol.map: '${entry}' is not NAME:PROTOCOL`);
    }
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new ListenerConfigError(
        `listener.security.protocol.map: '${protocol}' of listener ${name} is not a security protocol (${SECURITY_PROTOCOLS.join(', ')})`,
      );
    }
    if (map.has(name))
      throw new ListenerConfigError(`listener.security.protocol.map: ${name} is given twice`);
    map.set(name, protocol as SecurityProtocol);
  }
  return map;
}

export interface ListenerSettings {
  /** `listeners`; undefined: one PLAINTEXT listener on the bind host and port given. */
  readonly listeners?: string;
  readonly advertisedListeners?: string;
  readonly securityProtocolMap?: string;
}

/**
 * The listeners to open, in the order `listeners` gives them. Each name must have a security
 * protocol in the map; every advertised name must be a listener (Kafka refuses the broker
 * otherwise); the non-routable 0.0.0.0 / :: is never advertised.
 */
export function resolveListeners(settings: ListenerSettings, bindHost: string, bindPort: number): Listener[] {
  const map = parseSecurityProtocolMap(settings.securityProtocolMap ?? DEFAULT_SECURITY_PROTOCOL_MAP);
  const bound =
    settings.listeners === undefined
      ? [{ name: 'PLAINTEXT', host: bindHost, port: bindPort }]
      : parseListenerList('listeners', settings.listeners, bindHost);
  const advertised = new Map<string, ListenerAddress>();
  if (settings.advertisedListeners !== undefined) {
    for (const entry of parseListenerList('advertised.listeners', settings.advertisedListeners, bindHost)) {
      if (!bound.some((listener) => listener.name === entry.name)) {
        throw new ListenerConfigError(
          `advertised.listeners: listener ${entry.name} is not one of listeners (${bound.map((l) => l.name).join(', ')})`,
        );
      }
      if (entry.host === '0.0.0.0' || entry.host === '::') {
        throw new ListenerConfigError(
          `advertised.listeners: ${entry.name} advertises the non-routable address ${entry.host}`,
        );
      }
      if (entry.port === 0)
        throw new ListenerConfigError(`advertised.listeners: ${entry.name} advertises port 0`);
      advertised.set(entry.name, entry);
    }
  }
  const ports = new Map<number, string>();
  return bound.map((listener) => {
    const securityProtocol = map.get(listener.name);
    if (securityProtocol === undefined) {
      throw new ListenerConfigError(
        `listeners: listener ${listener.name} has no security protocol in listener.security.protocol.map; add ${listener.name}:PLAINTEXT (or SSL, SASL_PLAINTEXT, SASL_SSL)`,
      );
    }
    const other = ports.get(listener.port);
    if (listener.port !== 0 && other !== undefined) {
      throw new ListenerConfigError(
        `listeners: ${listener.name} and ${other} both bind port ${listener.port}`,
      );
    }
    ports.set(listener.port, listener.name);
    const address = advertised.get(listener.name);
    return {
      name: listener.name,
      securityProtocol,
      host: listener.host,
      port: listener.port,
      ...(address === undefined ? {} : { advertised: { host: address.host, port: address.port } }),
    };
  });
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}
