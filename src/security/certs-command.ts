/**
 * `kstack certs`: a throwaway CA, a broker certificate and a client certificate in PEM for local
 * TLS (made with the system's openssl), and the settings that use them: the broker's `--override`s
 * for an SSL or SASL_SSL listener, and the client configurations of librdkafka, Java, kafkajs and
 * franz-go. For local testing only: the CA key sits beside the certificates, unencrypted.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { CERTIFICATE_HOSTS_DEFAULT, makeCertificates, type TestCertificates } from './certs.ts';

/** Default validity: long enough for local work, short enough to stay throwaway. */
export const CERTS_DAYS_DEFAULT = 365;
/** Kafka's PEM settings accept any validity; openssl's x509 takes at most this many days here. */
export const CERTS_DAYS_MAX = 3650;
const DIR_DEFAULT = 'kstack-certs';

const HELP = `usage: kstack certs [--dir DIR] [--days N] [--host H]...

Writes a throwaway CA, a broker certificate and a client certificate (PEM) into DIR
(default ./${DIR_DEFAULT}; refused when it holds a ca.pem already) and prints the settings that
use them. Needs openssl on the PATH.

  --dir DIR   where to write (created if missing)
  --days N    validity in days (default ${CERTS_DAYS_DEFAULT}, at most ${CERTS_DAYS_MAX})
  --host H    a host name or IP address the broker certificate is valid for (repeatable;
              default ${CERTIFICATE_HOSTS_DEFAULT.join(' and ')})
`;

function parse(args: readonly string[]): { dir: string; days: number; hosts: string[] } | 'help' {
  let values: { dir?: string; days?: string; host?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        dir: { type: 'string' },
        days: { type: 'string' },
        host: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}`);
  }
  if (values.help === true) return 'help';
  const days = Number(values.days ?? CERTS_DAYS_DEFAULT);
  if (!Number.isInteger(days) || days < 1 || days > CERTS_DAYS_MAX) {
    throw new UsageError(`--days '${values.days}' is not a whole number of days from 1 to ${CERTS_DAYS_MAX}`);
  }
  const hosts = values.host ?? [...CERTIFICATE_HOSTS_DEFAULT];
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.:-]+$/.test(host))
      throw new UsageError(`--host '${host}' is not a host name or IP address`);
  }
  return { dir: resolve(values.dir ?? DIR_DEFAULT), days, hosts };
}

/** What to pass to the broker and to each client, with the files just written. */
export function certificateUsage(certs: TestCertificates): string {
  return `Broker (an SSL listener; SASL_SSL takes the same ssl.* settings):
  kstack up --override listeners=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093 \\
    --override ssl.keystore.type=PEM --override ssl.keystore.location=${certs.brokerKeystoreFile} \\
    --override ssl.truststore.type=PEM --override ssl.truststore.location=${certs.caFile}
  (add --override ssl.client.auth=required to ask clients for their certificate)

librdkafka (kcat -X, confluent-kafka):
  security.protocol=SSL
  ssl.ca.location=${certs.caFile}
  ssl.certificate.location=${certs.clientCertFile}   # mutual TLS only
  ssl.key.location=${certs.clientKeyFile}

Java (client.properties):
  security.protocol=SSL
  ssl.truststore.type=PEM
  ssl.truststore.location=${certs.caFile}
  ssl.keystore.type=PEM                                 # mutual TLS only: key and certificate in one file
  ssl.keystore.location=<a file holding ${certs.clientKeyFile} then ${certs.clientCertFile}>

kafkajs:
  ssl: { ca: [fs.readFileSync('${certs.caFile}', 'utf8')],
         cert: fs.readFileSync('${certs.clientCertFile}', 'utf8'), key: fs.readFileSync('${certs.clientKeyFile}', 'utf8') }

franz-go:
  pool := x509.NewCertPool(); pool.AppendCertsFromPEM(<${certs.caFile}>)
  kgo.DialTLSConfig(&tls.Config{RootCAs: pool})   // Certificates: tls.LoadX509KeyPair(client.pem, client.key) for mutual TLS

The client certificate's principal is User:${certs.clientDn} (ssl.principal.mapping.rules maps it).
`;
}

export const command: Command = {
  summary: 'write a throwaway CA, broker and client certificates (PEM) for local TLS',
  async run(args) {
    const parsed = parse(args);
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (existsSync(resolve(parsed.dir, 'ca.pem'))) {
      throw new UsageError(`${parsed.dir} holds a ca.pem already; give another --dir or remove it`);
    }
    mkdirSync(parsed.dir, { recursive: true });
    const certs = makeCertificates(parsed.dir, { days: parsed.days, hosts: parsed.hosts });
    process.stdout.write(
      `kstack certs: wrote ${parsed.dir} (CA, broker for ${parsed.hosts.join(', ')}, client; ${parsed.days} days)\n\n${certificateUsage(certs)}`,
    );
    return EXIT_OK;
  },
};
