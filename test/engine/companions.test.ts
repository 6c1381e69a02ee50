/**
 * The companions `kstack up` starts beside the broker (src/engine/companions.ts), against a real
 * `kstack up` process: each answers on the port given for its Compose service, the REST proxy reaches
 * the registry, and a port already taken stops the start with the service and port named and
 * leaves nothing listening.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { startCompanions } from '../../src/engine/companions.ts';
import { KstackProcess } from '../../src/engine/process.ts';

const BROKER_PORT = 20800;
const REGISTRY_PORT = 20801;
const REST_PROXY_PORT = 20802;
const EXPORTER_PORT = 20803;
const TAKEN_PORT = 20804;
const UI_PORT = 20805;
const CONNECT_PORT = 20806;

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('companions beside kstack up', { timeout: 120_000 }, () => {
  let broker: KstackProcess;
  let dataDir: string;
  const bootstrap = `127.0.0.1:${BROKER_PORT}`;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-companions-'));
    broker = await KstackProcess.start({
      args: ['--port', String(BROKER_PORT), '--data-dir', dataDir],
      ports: [BROKER_PORT],
    });
  });

  after(async () => {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves each declared companion on its port, Connect's worker too (started in the background)", async () => {
    const companions = await startCompanions(
      bootstrap,
      [
        { service: 'schema-registry', hostPort: REGISTRY_PORT },
        { service: 'kafka-rest-proxy', hostPort: REST_PROXY_PORT },
        { service: 'kafka-exporter', hostPort: EXPORTER_PORT },
        { service: 'kafka-connect', hostPort: CONNECT_PORT },
        { service: 'kafka-ui', hostPort: UI_PORT },
      ],
      dataDir,
    );
    try {
      assert.deepEqual(
        companions.running.map(({ service, url }) => [service, url]),
        [
          ['schema-registry', `http://127.0.0.1:${REGISTRY_PORT}`],
          ['kafka-rest-proxy', `http://127.0.0.1:${REST_PROXY_PORT}`],
          ['kafka-connect', `http://127.0.0.1:${CONNECT_PORT}`],
          ['kafka-exporter', `http://127.0.0.1:${EXPORTER_PORT}/metrics`],
          ['kafka-ui', `http://127.0.0.1:${UI_PORT}`],
        ],
      );
      assert.deepEqual(
        companions.notServed.map(({ service }) => service),
        [],
      );

      // The registry stores a schema; the REST proxy produces Avro through it to a topic made here.
      const admin = new Admin({ clientId: 'companions-test', bootstrapBrokers: [bootstrap] });
      try {
        await admin.createTopics({ topics: ['pings'], partitions: 1, replicas: 1 });
      } finally {
        await admin.close();
      }
      const schema = JSON.stringify({ type: 'record', name: 'Ping', fields: [{ name: 'n', type: 'int' }] });
      const registered = await fetch(`http://127.0.0.1:${REGISTRY_PORT}/subjects/pings-value/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema }),
      });
      assert.equal(registered.status, 200, await registered.clone().text());
      const { id } = (await registered.json()) as { id: number };
      const produced = await fetch(`http://127.0.0.1:${REST_PROXY_PORT}/topics/pings`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.kafka.avro.v2+json' },
        body: JSON.stringify({ value_schema_id: id, records: [{ value: { n: 7 } }] }),
      });
      const answer = (await produced.json()) as { value_schema_id: number; offsets: { offset: number }[] };
      assert.equal(produced.status, 200, JSON.stringify(answer));
      assert.equal(answer.value_schema_id, id);
      assert.equal(answer.offsets[0]?.offset, 0);

      // The exporter sees the broker and the topic the proxy wrote to.
      const metrics = await (await fetch(`http://127.0.0.1:${EXPORTER_PORT}/metrics`)).text();
      assert.match(metrics, /^kafka_brokers 1$/m);
      assert.match(metrics, /^kafka_topic_partition_current_offset\{[^}]*topic="pings"[^}]*\} 1$/m);
    } finally {
      await companions.close();
    }
  });

  it('a taken port stops the start, naming the service and port, and leaves nothing listening', async () => {
    const squatter = await listen(TAKEN_PORT);
    try {
      await assert.rejects(
        startCompanions(bootstrap, [
          { service: 'schema-registry', hostPort: REGISTRY_PORT },
          { service: 'kafka-rest-proxy', hostPort: TAKEN_PORT },
        ]),
        new RegExp(`REST proxy \\(Compose service kafka-rest-proxy\\) could not start on port ${TAKEN_PORT}`),
      );
    } finally {
      await closeServer(squatter);
    }
    // The registry started first and was stopped again: its port is free.
    await closeServer(await listen(REGISTRY_PORT));
  });
});
