/**
 * A test cluster with its HTTP control endpoint, as a process of its own, for suites in other
 * languages (the fixtures in examples/):
 *
 *   node src/testing/serve.ts [--brokers 1|3] [--port P] [--control-port C] [--topics-file F] [--clock manual]
 *                             [--data-dir D] [--override K=V]... [--verbose]
 *                             [--host H] [--advertised-host NAME] [--container-host NAME] [--schema-registry]
 *                             [--connect [--connect-plugins DIR]...]
 *
 * Prints one JSON line `{"bootstrapServers":…,"controlUrl":…}` on stdout once ready (with
 * `"schemaRegistryUrl":…` under --schema-registry: the registry companion, reset with the cluster; and
 * `"connectUrl":…` under --connect: Kafka's Connect worker, whose connectors reset removes); SIGTERM or
 * SIGINT stops it (exit 0). Ports default to 0 (free ports chosen by the system). `--host` is where
 * the cluster listens (default 127.0.0.1; the control endpoint stays on 127.0.0.1); with one broker,
 * `--advertised-host` is the name it tells clients (e.g. host.docker.internal for containers), and
 * `--container-host` adds a second listener for containers advertising that name
 * (`"containerBootstrapServers":…` in the ready line and GET /cluster; e.g. `--host 0.0.0.0
 * --container-host host.docker.internal`).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../common/cli-errors.ts';
import { startControlServer } from './control-server.ts';
import { KafkaTestingError } from './errors.ts';
import { type StartKafkaOptions, startKafka, type TestKafka } from './kafka.ts';
import { TestKafkaCluster } from './kafka-cluster.ts';

function portOf(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`serve: ${flag} '${text}' is not a port number (0-65535)\n`);
    process.exit(2);
  }
  return port;
}

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: '1' },
    port: { type: 'string' },
    'control-port': { type: 'string' },
    'topics-file': { type: 'string' },
    clock: { type: 'string' },
    host: { type: 'string' },
    'advertised-host': { type: 'string' },
    'container-host': { type: 'string' },
    'data-dir': { type: 'string' },
    override: { type: 'string', multiple: true },
    verbose: { type: 'boolean', default: false },
    'schema-registry': { type: 'boolean', default: false },
    connect: { type: 'boolean', default: false },
    'connect-plugins': { type: 'string', multiple: true },
  },
});
const config: Record<string, string> = {};
for (const entry of values.override ?? []) {
  const at = entry.indexOf('=');
  if (at <= 0) {
    process.stderr.write(`serve: --override '${entry}' must be NAME=VALUE\n`);
    process.exit(2);
  }
  config[entry.slice(0, at)] = entry.slice(at + 1);
}
const clock = values.clock ?? 'system';
if (clock !== 'system' && clock !== 'manual') {
  process.stderr.write(`serve: --clock '${clock}' must be system or manual\n`);
  process.exit(2);
}
const brokers = values.brokers;
if (brokers !== '1' && brokers !== '3') {
  process.stderr.write(`serve: --brokers '${brokers}' must be 1 or 3\n`);
  process.exit(2);
}
if (values['connect-plugins'] !== undefined && values.connect !== true) {
  process.stderr.write('serve: --connect-plugins needs --connect\n');
  process.exit(2);
}
const host = '127.0.0.1';
let kafka: TestKafka | TestKafkaCluster;
try {
  const options: StartKafkaOptions = {
    port: portOf(values.port, '--port'),
    clock,
    config,
    ...(values.verbose === true
      ? {
          log: {
            info: (line: string) => process.stderr.write(`[kstack] ${line}\n`),
            warn: (line: string) => process.stderr.write(`[kstack] WARN ${line}\n`),
          },
        }
      : {}),
    schemaRegistry: values['schema-registry'] === true,
    ...(values.connect === true ? { connect: { plugins: values['connect-plugins'] ?? [] } } : {}),
    ...(values['topics-file'] === undefined ? {} : { topicsFile: values['topics-file'] }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values['advertised-host'] === undefined ? {} : { advertisedHost: values['advertised-host'] }),
    ...(values['container-host'] === undefined ? {} : { containerHost: values['container-host'] }),
  };
  kafka = await startKafka({ ...options, brokers: brokers === '3' ? 3 : 1 });
} catch (error) {
  // Bad options and topics files are the user's to fix: their message alone, exit 2.
  if (error instanceof KafkaTestingError || error instanceof UsageError) {
    process.stderr.write(`serve: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const control = await startControlServer(kafka, {
  host,
  port: portOf(values['control-port'], '--control-port'),
});
const stop = async (): Promise<void> => {
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  await control.close();
  await kafka.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(
  `${JSON.stringify({
    bootstrapServers: kafka.bootstrapServers,
    controlUrl: control.url,
    ...(kafka.hasSchemaRegistry ? { schemaRegistryUrl: kafka.schemaRegistryUrl } : {}),
    ...(kafka instanceof TestKafkaCluster && kafka.hasConnect ? { connectUrl: kafka.connectUrl } : {}),
    ...(kafka.containerHost === undefined
      ? {}
      : { containerBootstrapServers: kafka.containerBootstrapServers }),
  })}\n`,
);
