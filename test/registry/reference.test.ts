/**
 * The registry is a Kafka client: the same serializer round trip, a restart, and leader election
 * through Apache Kafka's group coordinator (4.1.1, the reference, one node), not only against kstack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { RegistryProcess, readTopicRaw, runSerdes, waitForRegistryGroup } from './registry-process.ts';

/** The reference broker; its controller listens on 20270. */
const REFERENCE_PORT = 20220;
const REGISTRY_PORT = 20221;
/** A second instance, `--leader-eligibility false`: a follower that forwards its writes. */
const FOLLOWER_PORT = 20222;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-registry-reference-'));
const cluster = new ReferenceCluster({ nodes: 1, basePort: REFERENCE_PORT, dataDir });
const bootstrap = `127.0.0.1:${REFERENCE_PORT}`;
const registry = new RegistryProcess(bootstrap, REGISTRY_PORT);
const follower = new RegistryProcess(bootstrap, FOLLOWER_PORT, ['--leader-eligibility', 'false']);

describe('kstack schema-registry against Apache Kafka (reference)', { timeout: 900_000 }, () => {
  before(async () => {
    await cluster.start();
    await registry.start();
  });
  after(async () => {
    await follower.stop();
    await registry.stop();
    await cluster.stop(true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('round-trips Avro records through the Confluent serializer and keeps state over a restart', async () => {
    const summary = await runSerdes(bootstrap, registry.url, 'avro', 'reference-avro');
    assert.equal(summary.ok, true, JSON.stringify(summary));
    const before = await (await fetch(`${registry.url}/schemas?deleted=true`)).json();
    assert.equal((before as unknown[]).length, 2);
    // Fenced writes are on by default: Apache Kafka took every `_schemas` record inside a transaction
    // of the writer's id, and the restart below reads them back committed.
    const records = await readTopicRaw(bootstrap, '_schemas');
    assert.ok(records.length >= 2, `${records.length} records in _schemas`);
    for (const record of records) {
      assert.ok(record.transactional, `not transactional: ${record.key}`);
      assert.ok(record.producerId >= 0n, `producer id ${record.producerId}`);
    }
    await registry.stop();
    await registry.start();
    assert.deepEqual(await (await fetch(`${registry.url}/schemas?deleted=true`)).json(), before);
  });

  it("joins Apache Kafka's group coordinator as Confluent's registry does; a follower forwards its writes", async () => {
    await follower.start();
    const group = await waitForRegistryGroup(
      bootstrap,
      'schema-registry',
      (view) =>
        view.state === 'Stable' &&
        view.members.length === 2 &&
        view.members.every((member) => member.leader?.port === REGISTRY_PORT),
      120_000,
    );
    assert.equal(group.protocolType, 'sr');
    assert.equal(group.protocol, 'v0');
    const response = await fetch(`${follower.url}/subjects/reference-forwarded/versions`, {
      method: 'POST',
      headers: { 'content-type': CONTENT_TYPE },
      body: JSON.stringify({
        schema: '{"type":"record","name":"Forwarded","fields":[{"name":"a","type":"int"}]}',
      }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { id } = (await response.json()) as { id: number };
    const onLeader = await fetch(`${registry.url}/schemas/ids/${id}/subjects`);
    assert.deepEqual(await onLeader.json(), ['reference-forwarded']);
  });
});
