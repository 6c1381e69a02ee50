/**
 * Throwaway certificates for the TLS tests, made at test time with Debian's openssl: a CA, a
 * broker certificate for 127.0.0.1/localhost, and a client certificate, all signed by the CA. The
 * broker's PEM keystore file holds its key and certificate, as Kafka's `ssl.keystore.type=PEM`
 * `ssl.keystore.location` expects.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
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
function sign(dir: string, name: string, extensions: string): void {
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
      '2',
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

export function makeCertificates(dir: string): TestCertificates {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
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
    sign(dir, name, extensions);
  };
  issue(
    'broker',
    '/CN=localhost/O=kstack',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  issue('client', '/C=US/O=kstack/CN=client-1', 'extendedKeyUsage=clientAuth\n');
  const keystore = join(dir, 'broker-keystore.pem');
  writeFileSync(
    keystore,
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  );
  return {
    caFile: join(dir, 'ca.pem'),
    brokerKeystoreFile: keystore,
    brokerKeyFile: join(dir, 'broker.key'),
    brokerCertFile: join(dir, 'broker.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientDn: 'CN=client-1,O=kstack,C=US',
  };
}
