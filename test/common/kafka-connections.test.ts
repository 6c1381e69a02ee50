/**
 * guardConnectionErrors (src/common/kafka-connections.ts): a connection's second 'error' no longer
 * throws out of the process. @platformatic/kafka's pool listens for a connection's 'error' once; a
 * CI proof lost `kstack up` (supervisor and companions in one process) to an `Unhandled 'error'
 * event … NetworkError: Connection error` after a broker kill. The connection is a real one, to a
 * kstack broker on a free port; its errors are emitted by hand, as the socket's would be.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin, Connection, ConnectionPool } from '@platformatic/kafka';
import {
  guardConnectionErrors,
  guardOwnConnectionErrors,
  guardPoolConnectionErrors,
} from '../../src/common/kafka-connections.ts';
import { startKafka, type TestKafka } from '../../src/testing/kafka.ts';

let kafka: TestKafka;
before(async () => {
  kafka = await startKafka();
});
after(async () => {
  await kafka?.stop();
});

/** An Admin that has opened a connection to the broker, and that connection. */
async function connected(guard: boolean): Promise<{ admin: Admin; connection: Connection }> {
  const admin = new Admin({ clientId: 'kafka-connections-test', bootstrapBrokers: [kafka.bootstrapServers] });
  if (guard) guardConnectionErrors(admin);
  const opened = new Promise<Connection>((resolve) =>
    admin.once('client:broker:connect', ({ connection }) => resolve(connection)),
  );
  await admin.listTopics();
  return { admin, connection: await opened };
}

test('without the guard, a connection emitting a second error throws it (the library listens once)', async () => {
  const { admin, connection } = await connected(false);
  try {
    connection.emit('error', new Error('first'));
    assert.throws(() => connection.emit('error', new Error('second')), /second/);
  } finally {
    await admin.close();
  }
});

test('with the guard, a second and third error are kept and the client goes on answering', async () => {
  const { admin, connection } = await connected(true);
  try {
    connection.emit('error', new Error('first'));
    connection.emit('error', new Error('second'));
    connection.emit('error', new Error('third'));
    assert.ok(Array.isArray(await admin.listTopics()), 'the Admin answers through a new connection');
  } finally {
    await admin.close();
  }
});

/** A pool used without a client (as the registry's leader elector uses one) and its connection to the broker. */
async function pooled(guard: boolean): Promise<{ pool: ConnectionPool; connection: Connection }> {
  const pool = new ConnectionPool('kafka-connections-test-pool');
  if (guard) guardPoolConnectionErrors(pool);
  const [host, port] = kafka.bootstrapServers.split(':');
  return { pool, connection: await pool.get({ host: host!, port: Number(port) }) };
}

test('a pool without a client: unguarded its connection throws a second error, guarded it keeps them', async () => {
  const bare = await pooled(false);
  try {
    bare.connection.emit('error', new Error('first'));
    assert.throws(() => bare.connection.emit('error', new Error('second')), /second/);
  } finally {
    await bare.pool.close();
  }
  const guarded = await pooled(true);
  try {
    guarded.connection.emit('error', new Error('first'));
    guarded.connection.emit('error', new Error('second'));
    guarded.connection.emit('error', new Error('third'));
  } finally {
    await guarded.pool.close();
  }
});

test('a connection made by hand (the REST proxy controller requests): unguarded an error after connect throws, guarded it is kept', async () => {
  const [host, port] = kafka.bootstrapServers.split(':');
  const bare = new Connection('kafka-connections-test-own');
  try {
    await bare.connect(host!, Number(port));
    assert.throws(() => {
      bare.emit('error', new Error('first'));
      bare.emit('error', new Error('second'));
    }, /first|second/);
  } finally {
    await bare.close();
  }
  const guarded = guardOwnConnectionErrors(new Connection('kafka-connections-test-own'));
  try {
    await guarded.connect(host!, Number(port));
    guarded.emit('error', new Error('first'));
    guarded.emit('error', new Error('second'));
  } finally {
    await guarded.close();
  }
});
