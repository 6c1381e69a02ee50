/**
 * TLS of an SSL or SASL_SSL listener from Kafka's `ssl.*` settings in PEM form
 * (`ssl.keystore.type=PEM`): the key and certificate chain from `ssl.keystore.location` (one PEM
 * file holding both) or inline `ssl.keystore.key` + `ssl.keystore.certificate.chain`; trusted CAs
 * from `ssl.truststore.location` or inline `ssl.truststore.certificates`; `ssl.client.auth`
 * (none, requested, required). A listener-prefixed setting (`listener.name.<l>.ssl.*`) wins.
 */
import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import { type Listener, usesTls } from './listeners.ts';
import type { ConfigLookup } from './sasl.ts';

export const CLIENT_AUTH_VALUES = ['none', 'requested', 'required'] as const;

/** A TLS setting Kafka would refuse at start; the message names the setting. */
export class TlsConfigError extends Error {}

export function listenerTls(listener: Listener, lookup: ConfigLookup): TlsOptions | undefined {
  if (!usesTls(listener.securityProtocol)) return undefined;
  const prefix = `listener.name.${listener.name.toLowerCase()}.`;
  const setting = (name: string): { name: string; value: string } | undefined => {
    const prefixed = lookup(prefix + name);
    if (prefixed !== undefined) return { name: prefix + name, value: prefixed };
    const plain = lookup(name);
    return plain === undefined ? undefined : { name, value: plain };
  };
  const where = `listener ${listener.name} (${listener.securityProtocol})`;
  const readPem = (entry: { name: string; value: string }): string => {
    try {
      return readFileSync(entry.value, 'utf8');
    } catch (error) {
      throw new TlsConfigError(
        `${where}: ${entry.name}=${entry.value} cannot be read: ${(error as Error).message}`,
      );
    }
  };
  // A store's type matters only for a store file: Kafka's default type (JKS) with no file is no fault.
  for (const store of ['keystore', 'truststore']) {
    const typeName = `ssl.${store}.type`;
    const type = setting(typeName) ?? { name: typeName, value: 'JKS' };
    if (setting(`ssl.${store}.location`) !== undefined && type.value.toUpperCase() !== 'PEM') {
      throw new TlsConfigError(
        `${where}: ${type.name}=${type.value}: kstack reads PEM only; set ${typeName}=PEM`,
      );
    }
  }
  const location = setting('ssl.keystore.location');
  const inlineKey = setting('ssl.keystore.key');
  const inlineChain = setting('ssl.keystore.certificate.chain');
  let key: string;
  let cert: string;
  if (inlineKey !== undefined || inlineChain !== undefined) {
    if (inlineKey === undefined || inlineChain === undefined) {
      throw new TlsConfigError(`${where}: ssl.keystore.key and ssl.keystore.certificate.chain go together`);
    }
    key = inlineKey.value;
    cert = inlineChain.value;
  } else if (location !== undefined) {
    // Kafka's PEM keystore file holds the private key and the certificate chain.
    key = readPem(location);
    cert = key;
  } else {
    throw new TlsConfigError(
      `${where}: no key; set ssl.keystore.type=PEM and ssl.keystore.location (a PEM file with the key and its certificate chain)`,
    );
  }
  const trustLocation = setting('ssl.truststore.location');
  const trustInline = setting('ssl.truststore.certificates');
  const ca =
    trustInline !== undefined
      ? trustInline.value
      : trustLocation !== undefined
        ? readPem(trustLocation)
        : undefined;
  const clientAuthSetting = setting('ssl.client.auth');
  const clientAuth = (clientAuthSetting?.value ?? 'none').toLowerCase();
  if (!(CLIENT_AUTH_VALUES as readonly string[]).includes(clientAuth)) {
    throw new TlsConfigError(
      `${where}: ${clientAuthSetting?.name}=${clientAuthSetting?.value} is not one of ${CLIENT_AUTH_VALUES.join(', ')}`,
    );
  }
  if (clientAuth !== 'none' && ca === undefined) {
    throw new TlsConfigError(
      `${where}: ssl.client.auth=${clientAuth} needs ssl.truststore.location or ssl.truststore.certificates`,
    );
  }
  const passphrase = setting('ssl.key.password')?.value;
  return {
    key,
    cert,
    ...(ca === undefined ? {} : { ca }),
    ...(passphrase === undefined ? {} : { passphrase }),
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'required',
    minVersion: 'TLSv1.2',
  };
}
