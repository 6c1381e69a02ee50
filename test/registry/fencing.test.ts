/**
 * Fencing of a demoted registry leader, against a real broker (`kstack up --brokers 1`). Two
 * SchemaRegistry instances in this process share one `_schemas` topic and one writer transactional
 * id, as two `kstack schema-registry` processes in a group do; the group is played by hand
 * (`setLeader`) so that the old leader never learns of its demotion: the case a paused or cut leader
 * is in until its next heartbeat. Kafka must refuse every append of the old leader once the new
 * one has claimed the writer, and nothing of it may reach the topic, committed or not.
 * Ports: kstack 25220.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegistryIdentity } from '../../src/registry/leader-protocol.ts';
import { parseSchemaRequest, SchemaRegistry } from '../../src/registry/registry.ts';
import { SchemaLog } from '../../src/registry/schema-log.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { readTopicRaw } from './registry-process.ts';

const PORT = 25220;
const TOPIC = '_schemas-fencing';
const WRITER = 'kstack-schema-registry-writer/fencing-test';
/** A cold start of the broker on a loaded CI machine. */
const BROKER_START_TIMEOUT_MS = 90_000;

const identity = (port: number): RegistryIdentity => ({
  scheme: 'http',
  host: '127.0.0.1',
  port,
  leaderEligible: true,
});
const avro = (name: string) =>
  parseSchemaRequest({
    schema: JSON.stringify({ type: 'record', name, fields: [{ name: 'n', type: 'int' }] }),
  });

describe('a demoted registry leader is fenced by Kafka', { timeout: 240_000 }, () => {
  const broker = new BrokerProcess(PORT);
  const registries: SchemaRegistry[] = [];
  const instance = async (port: number) => {
    const registry = new SchemaRegistry(
      new SchemaLog({ bootstrap: broker.bootstrap, topic: TOPIC, transactionalId: WRITER }),
    );
    registries.push(registry);
    await registry.start();
    registry.setIdentity(identity(port));
    return registry;
  };

  before(() => broker.start(BROKER_START_TIMEOUT_MS));
  after(async () => {
    await Promise.allSettled(registries.map((r) => r.close()));
    await broker.stop();
  });

  it('refuses every append of the old leader once the new one claimed the writer; none reaches _schemas', async () => {
    const old = await instance(1);
    const next = await instance(2);
    old.setLeader(identity(1));
    next.setLeader(identity(1));
    assert.deepEqual(await old.register('before', avro('Before'), false), { id: 1, version: 1 });

    // The group elects `next`; `old` is not told (paused, or its heartbeats not answered yet).
    next.setLeader(identity(2));
    await next.catchUp();
    assert.equal(next.isLeader, true);
    assert.equal(old.isLeader, true, 'the old leader still believes it leads');
    assert.deepEqual(await next.register('after', avro('After'), false), { id: 2, version: 1 });

    await assert.rejects(old.register('stale', avro('Stale'), false), (error: Error) => {
      assert.match(error.message, /fenced/);
      return true;
    });
    // Once fenced, it never re-initializes the id (that would fence the new leader in turn).
    await assert.rejects(old.register('stale2', avro('Stale2'), false), /claimed by a newer leader/);
    assert.equal(old.fencedWrites, 2);
    assert.deepEqual(await next.register('after2', avro('After2'), false), { id: 3, version: 1 });

    const records = await readTopicRaw(broker.bootstrap, TOPIC);
    const keys = records.map((r) => JSON.parse(r.key).subject);
    assert.deepEqual(keys, ['before', 'after', 'after2'], 'no record of the old leader after the claim');
    const [first, ...rest] = records;
    assert.ok(first !== undefined);
    // Same transactional id, so one producer id; the new leader's epoch is higher.
    for (const record of rest) {
      assert.equal(record.producerId, first.producerId);
      assert.ok(record.epoch > first.epoch, `epoch ${record.epoch} after ${first.epoch}`);
    }

    // Both instances read the same state; the old one's refused schemas are nowhere.
    await old.catchUp();
    for (const registry of [old, next]) {
      assert.deepEqual(registry.subjects({ deleted: true }).sort(), ['after', 'after2', 'before']);
    }
  });
});
