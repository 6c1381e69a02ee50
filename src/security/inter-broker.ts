/**
 * The listener brokers talk to each other through (Kafka's `inter.broker.listener.name`, or
 * `security.inter.broker.protocol`, whose listener is named after the protocol; default PLAINTEXT),
 * and how a broker logs in there: TLS from the listener's own `ssl.*` settings (its truststore
 * trusts the other brokers, its keystore is the client certificate), SASL with
 * `sasl.mechanism.inter.broker.protocol` (default GSSAPI, as Kafka) and the username/password of
 * the listener's JAAS config for that mechanism (`listener.name.<l>.<mech>.sasl.jaas.config`).
 * Replica fetchers connect to a leader's endpoint on this listener.
 * The refusals are Kafka 4.1.1's (its KafkaConfig checks, asked of `kafka-storage format`).
 */
import type { ConnectionOptions } from 'node:tls';
import { parseJaasConfig } from './jaas.ts';
import {
  DEFAULT_SECURITY_PROTOCOL_MAP,
  type Listener,
  ListenerConfigError,
  parseSecurityProtocolMap,
  SECURITY_PROTOCOLS,
  usesSasl,
  usesTls,
} from './listeners.ts';
import type { ConfigLookup } from './sasl.ts';
import type { SaslLogin } from './sasl-client.ts';
import { isScramMechanism } from './scram.ts';
import { listenerTls } from './tls.ts';

/** Kafka's `security.inter.broker.protocol` default. */
export const INTER_BROKER_PROTOCOL_DEFAULT = 'PLAINTEXT';
/** Kafka's `sasl.mechanism.inter.broker.protocol` default. */
export const INTER_BROKER_SASL_MECHANISM_DEFAULT = 'GSSAPI';

/** How this broker reaches the others. */
export interface InterBrokerLink {
  /** The listener whose registered endpoints the fetchers connect to. */
  readonly listenerName: string;
  /** TLS client options (SSL, SASL_SSL); absent: plain TCP. */
  readonly tls?: ConnectionOptions;
  /** The login (SASL_PLAINTEXT, SASL_SSL); absent: none. */
  readonly sasl?: SaslLogin;
}

/**
 * The inter-broker listener of `listeners` (the broker's, without the controller's). `cluster`:
 * this broker replicates, so the link is resolved and checked in full; a single broker only
 * refuses settings given explicitly that Kafka would refuse (it has no one to talk to), and
 * answers null when they are not given.
 */
export function interBrokerLink(
  listeners: readonly Listener[],
  lookup: ConfigLookup,
  cluster: boolean,
): InterBrokerLink | null {
  const byName = lookup('inter.broker.listener.name');
  const byProtocol = lookup('security.inter.broker.protocol');
  if (byName !== undefined && byProtocol !== undefined) {
    throw new ListenerConfigError(
      'Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.',
    );
  }
  if (
    byProtocol !== undefined &&
    !(SECURITY_PROTOCOLS as readonly string[]).includes(byProtocol.toUpperCase())
  ) {
    throw new ListenerConfigError(
      `security.inter.broker.protocol: ${byProtocol} is not one of ${SECURITY_PROTOCOLS.join(', ')}`,
    );
  }
  if (!cluster && byName === undefined && byProtocol === undefined) return null;
  const name = (byName ?? byProtocol ?? INTER_BROKER_PROTOCOL_DEFAULT).toUpperCase();
  const map = parseSecurityProtocolMap(
    lookup('listener.security.protocol.map') ?? DEFAULT_SECURITY_PROTOCOL_MAP,
  );
  if (byName !== undefined && !map.has(name)) {
    throw new ListenerConfigError(
      `Listener with name ${name} defined in inter.broker.listener.name not found in listener.security.protocol.map.`,
    );
  }
  const listener = listeners.find((candidate) => candidate.name === name);
  if (listener === undefined) {
    throw new ListenerConfigError(
      `inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are ${listeners.map((l) => l.name).join(',')}`,
    );
  }
  const sasl = usesSasl(listener.securityProtocol) ? interBrokerLogin(listener, lookup) : undefined;
  const tls = usesTls(listener.securityProtocol) ? clientTls(listener, lookup) : undefined;
  return {
    listenerName: listener.name,
    ...(tls === undefined ? {} : { tls }),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

function listenerSetting(lookup: ConfigLookup, listener: string, name: string): string | undefined {
  return lookup(`listener.name.${listener.toLowerCase()}.${name}`) ?? lookup(name);
}

/** The mechanism and the credentials the broker logs in with, from the listener's JAAS config. */
function interBrokerLogin(listener: Listener, lookup: ConfigLookup): SaslLogin {
  const mechanism = (
    lookup('sasl.mechanism.inter.broker.protocol') ?? INTER_BROKER_SASL_MECHANISM_DEFAULT
  ).toUpperCase();
  const enabled = (listenerSetting(lookup, listener.name, 'sasl.enabled.mechanisms') ?? 'GSSAPI')
    .split(',')
    .map((entry) => entry.trim().toUpperCase());
  if (!enabled.includes(mechanism)) {
    throw new ListenerConfigError(
      'sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication',
    );
  }
  if (mechanism !== 'PLAIN' && !isScramMechanism(mechanism)) {
    throw new ListenerConfigError(
      `sasl.mechanism.inter.broker.protocol: kstack's brokers log in to each other with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not ${mechanism}`,
    );
  }
  const setting = `listener.name.${listener.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const text = lookup(setting);
  const entry = text === undefined ? undefined : parseJaasConfig(setting, text)[0];
  const username = entry?.options.get('username');
  const password = entry?.options.get('password');
  if (username === undefined || password === undefined) {
    throw new ListenerConfigError(
      `${setting}: the inter-broker listener ${listener.name} logs in with ${mechanism}, so its JAAS config needs username="..." password="..." (the brokers' own user)`,
    );
  }
  return { mechanism, username, password };
}

/**
 * The listener's TLS settings as a client's: it trusts the listener's truststore (the other brokers'
 * CA) and shows its keystore (for `ssl.client.auth`); host names are checked as Kafka's default
 * `ssl.endpoint.identification.algorithm=https` does, unless that setting is empty.
 */
function clientTls(listener: Listener, lookup: ConfigLookup): ConnectionOptions {
  const server = listenerTls(listener, lookup);
  const identification = listenerSetting(lookup, listener.name, 'ssl.endpoint.identification.algorithm');
  return {
    ...(server?.ca === undefined ? {} : { ca: server.ca }),
    ...(server?.key === undefined ? {} : { key: server.key, cert: server.cert }),
    ...(server?.passphrase === undefined ? {} : { passphrase: server.passphrase }),
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(identification === '' ? { checkServerIdentity: () => undefined } : {}),
  };
}
