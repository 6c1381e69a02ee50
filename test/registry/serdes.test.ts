/**
 * Confluent's own serializers, clients we did not write: confluent-kafka's SchemaRegistryClient with
 * its Avro, JSON Schema and Protobuf serializers (PyPI), and @confluentinc/schemaregistry's Node serdes
 * (npm) and franz-go's pkg/sr (Go; all installed by scripts/setup/40-registry-clients.sh), each as a separate process, register schemas with `kstack schema-registry` and round-trip records through
 * `kstack up` in Confluent's wire format, then evolve and are refused an incompatible change.
 * Also: the registry killed with SIGKILL while registering loses no acknowledged schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess } from '../engine/broker-process.ts';
import { RegistryProcess, runConfluentJs, runGoDriver, runSerdes, stopBroker } from './registry-process.ts';

const BROKER_PORT = 20210;
const REGISTRY_PORT = 20211;
/** Registrations fired at once in the crash test, and how many must be acknowledged before the kill. */
const CRASH_REGISTRATIONS = 60;
const CRASH_AFTER_ACKS = 10;

const broker = new BrokerProcess(BROKER_PORT);
const registry = new RegistryProcess(broker.bootstrap, REGISTRY_PORT);

describe('Schema Registry clients (Python, Node, Go) against kstack up and kstack schema-registry', {
  timeout: 900_000,
}, () => {
  before(async () => {
    await broker.start(60_000);
    await registry.start();
  });
  after(async () => {
    await registry.stop();
    await stopBroker(broker);
  });

  for (const format of ['avro', 'json', 'protobuf']) {
    it(`${format}: register, produce, consume, evolve, refuse an incompatible change`, async () => {
      const summary = await runSerdes(broker.bootstrap, registry.url, format, `serdes-${format}`);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      const registered = summary.registered as { id: number };
      // Confluent's wire format: magic byte 0, then the 4-byte big-endian schema id.
      assert.deepEqual(summary.wire_prefixes, [`00${registered.id.toString(16).padStart(8, '0')}`]);
      if (format === 'protobuf') {
        // Message indexes as zigzag varints: count 1, index 1 (Detail is the file's second message).
        assert.equal(summary.message_indexes, '0202');
      }
    });
  }

  for (const format of ['avro', 'json', 'protobuf']) {
    it(`@confluentinc/schemaregistry ${format}: serialize (registering), produce, consume, deserialize by id`, async () => {
      const summary = await runConfluentJs(broker.bootstrap, registry.url, format, `confluent-js-${format}`);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      const latest = summary.latest as { id: number; schemaType: string };
      assert.equal(summary.wire_prefix, `00${latest.id.toString(16).padStart(8, '0')}`);
      assert.equal(latest.schemaType, format === 'json' ? 'JSON' : format.toUpperCase());
    });
  }

  it("franz-go's pkg/sr: JSON Schema serde round trip through Kafka, evolution, 409, Avro by id", async () => {
    const summary = await runGoDriver(broker.bootstrap, registry.url, 'franz-sr');
    assert.equal(summary.ok, true, JSON.stringify(summary));
    const registered = summary.registered as { id: number };
    assert.equal(summary.wire_prefix, `00${registered.id.toString(16).padStart(8, '0')}`);
  });

  it('keeps every acknowledged schema once after SIGKILL during registrations', async () => {
    const acknowledged = new Map<string, number>();
    let acks = 0;
    let release: () => void = () => {};
    const enoughAcks = new Promise<void>((resolve) => {
      release = resolve;
    });
    const requests = Array.from({ length: CRASH_REGISTRATIONS }, async (_, i) => {
      const subject = `crash-${i}`;
      const schema = JSON.stringify({
        type: 'record',
        name: `Crash${i}`,
        fields: [{ name: 'n', type: 'int' }],
      });
      try {
        const response = await fetch(`${registry.url}/subjects/${subject}/versions`, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
          body: JSON.stringify({ schema }),
        });
        if (response.status === 200) {
          acknowledged.set(subject, ((await response.json()) as { id: number }).id);
          acks += 1;
          if (acks >= CRASH_AFTER_ACKS) release();
        }
      } catch {
        // Cut off by the kill: not acknowledged, so it may or may not be stored.
      }
    });
    await Promise.race([enoughAcks, Promise.all(requests)]);
    assert.equal(await registry.stop('SIGKILL'), 'SIGKILL');
    await Promise.all(requests);
    const acknowledgedAtKill = new Map(acknowledged);
    assert.ok(acknowledgedAtKill.size >= CRASH_AFTER_ACKS, `acknowledged ${acknowledgedAtKill.size}`);
    await registry.start();
    const ids = new Set<number>();
    for (const [subject, id] of acknowledgedAtKill) {
      const versions = (await (
        await fetch(`${registry.url}/subjects/${subject}/versions`)
      ).json()) as number[];
      assert.deepEqual(versions, [1], `${subject} is stored once`);
      const latest = (await (await fetch(`${registry.url}/subjects/${subject}/versions/1`)).json()) as {
        id: number;
      };
      assert.equal(latest.id, id, `${subject} keeps id ${id}`);
      assert.ok(!ids.has(id), `id ${id} given once`);
      ids.add(id);
    }
    process.stdout.write(
      `# crash test: ${acknowledgedAtKill.size} of ${CRASH_REGISTRATIONS} acknowledged before SIGKILL, all kept\n`,
    );
  });
});
