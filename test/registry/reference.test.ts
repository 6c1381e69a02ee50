/**
 * The registry is a Kafka client: the same serializer round trip and a restart against Apache Kafka
 * 4.1.1 (the reference, one node), not only against kstack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { RegistryProcess, runSerdes } from './registry-process.ts';

/** The reference broker; its controller listens on 20270. */
const REFERENCE_PORT = 20220;
const REGISTRY_PORT = 20221;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-registry-reference-'));
const cluster = new ReferenceCluster({ nodes: 1, basePort: REFERENCE_PORT, dataDir });
const bootstrap = `127.0.0.1:${REFERENCE_PORT}`;
const registry = new RegistryProcess(bootstrap, REGISTRY_PORT);

describe('kstack schema-registry against Apache Kafka (reference)', { timeout: 900_000 }, () => {
  before(async () => {
    await cluster.start();
    await registry.start();
  });
  after(async () => {
    await registry.stop();
    await cluster.stop(true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('round-trips Avro records through the Confluent serializer and keeps state over a restart', async () => {
    const summary = await runSerdes(bootstrap, registry.url, 'avro', 'reference-avro');
    assert.equal(summary.ok, true, JSON.stringify(summary));
    const before = await (await fetch(`${registry.url}/schemas?deleted=true`)).json();
    assert.equal((before as unknown[]).length, 2);
    await registry.stop();
    await registry.start();
    assert.deepEqual(await (await fetch(`${registry.url}/schemas?deleted=true`)).json(), before);
  });
});
