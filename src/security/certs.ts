/**
 * Throwaway certificates for local TLS (`kstack certs`) and the TLS tests, made with the system's
 * openssl: a CA, a broker certificate for the given hosts (default 127.0.0.1 and localhost), and a
 * client certificate, all signed by the CA. The broker's PEM keystore file holds its key and
 * certificate, as Kafka's `ssl.keystore.type=PEM` `ssl.keystore.location` expects.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface TestCertificates {
  /** The CA's private key (keep it to issue more certificates; never give it to a broker). */
  readonly caKeyFile: string;
  readonly caFile: string;
  /** Key and certificate of the broker, one PEM file. */
  readonly brokerKeystoreFile: string;
  readonly brokerKeyFile: string;
  readonly brokerCertFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The client certificate's subject as Kafka's principal builder names it (RFC 2253). */
  readonly clientDn: string;
}

function openssl(args: string[], dir: string): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Signs `${name}.csr` in `dir` with the test CA there (ca.pem, ca.key) into `${name}.pem`. */
function sign(dir: string, name: string, extensions: string, days = TEST_DAYS): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      String(days),
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/**
 * Another client certificate with `subject` (openssl's `/K=V/...` form), signed by the CA
 * makeCertificates left in `dir`; an EC P-256 key, quicker to make than RSA.
 */
export function issueClientCertificate(
  dir: string,
  name: string,
  subject: string,
): { certFile: string; keyFile: string } {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  sign(dir, name, 'extendedKeyUsage=clientAuth\n');
  return { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
}

/** How long the tests' certificates are valid. */
const TEST_DAYS = 2;
/** The hosts the broker certificate names by default. */
export const CERTIFICATE_HOSTS_DEFAULT: readonly string[] = ['127.0.0.1', 'localhost'];

export interface CertificateOptions {
  readonly days?: number;
  /** Host names and IP addresses the broker certificate is valid for (subjectAltName). */
  readonly hosts?: readonly string[];
}

function subjectAltName(hosts: readonly string[]): string {
  return hosts.map((host) => (isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`)).join(',');
}

export function makeCertificates(dir: string, options: CertificateOptions = {}): TestCertificates {
  const days = options.days ?? TEST_DAYS;
  const hosts = options.hosts ?? CERTIFICATE_HOSTS_DEFAULT;
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      '/CN=kstack test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  const issue = (name: string, subject: string, extensions: string): void => {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        subject,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    );
    sign(dir, name, extensions, days);
  };
  issue(
    'broker',
    '/CN=localhost/O=kstack',
    `subjectAltName=${subjectAltName(hosts)}\nextendedKeyUsage=serverAuth\n`,
  );
  issue('client', '/C=US/O=kstack/CN=client-1', 'extendedKeyUsage=clientAuth\n');
  const keystore = join(dir, 'broker-keystore.pem');
  writeFileSync(
    keystore,
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  );
  return {
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca.key'),
    brokerKeystoreFile: keystore,
    brokerKeyFile: join(dir, 'broker.key'),
    brokerCertFile: join(dir, 'broker.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientDn: 'CN=client-1,O=kstack,C=US',
  };
}
