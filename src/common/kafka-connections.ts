/**
 * Keeps a broker connection's late errors from killing the process that holds the client.
 *
 * @platformatic/kafka 2.12.1's connection pool listens for a connection's 'error' event once
 * (`connection.once('error', …)` in `network/connection-pool.js`). A connection that emits a second
 * 'error' then has no listener, and Node throws it: the whole process dies with
 * `Unhandled 'error' event … NetworkError: Connection error … ECONNRESET`. `kstack up` runs its
 * companions (Schema Registry, REST proxy, exporter, web UI) in its own process, so this took the
 * supervisor and every companion down when a CI proof killed a broker under the UI's producer
 * (test/ui/faults.slow.ts, 2026-12-06). The errors themselves are not lost by listening: the library
 * fails the connection's requests through their callbacks and drops it from the pool on 'close'.
 */
import type { Base, Connection, ConnectionPool } from '@platformatic/kafka';

/** What a connection's errors after the first are given: the library has already acted on them. */
function keptByTheLibrary(): void {}

/** Gives every connection the client opens a lasting 'error' listener; returns the client. */
export function guardConnectionErrors<Client extends Base>(client: Client): Client {
  (client as Base).on('client:broker:connect', ({ connection }) => {
    connection.on('error', keptByTheLibrary);
  });
  return client;
}

/**
 * The same for a pool used without a client (the registry's group leader elector speaks the group
 * protocol on its own ConnectionPool, so no client event reaches guardConnectionErrors): a lasting
 * 'error' listener on every connection the pool opens; returns the pool. A UI faults run
 * (2026-12-06, session 13) lost `kstack up` again to the same unhandled 'error' after a broker kill
 * with every client guarded; the elector's pool was the one owner of connections in that process
 * left without a lasting listener.
 */
export function guardPoolConnectionErrors(pool: ConnectionPool): ConnectionPool {
  pool.on('connect', ({ connection }) => {
    connection.on('error', keptByTheLibrary);
  });
  return pool;
}

/**
 * The same for a connection made by hand, outside any pool (the REST proxy's controller requests):
 * its failures reach the caller through connect() and each request's callback; a lasting 'error'
 * listener keeps a later one from killing the process. Returns the connection.
 */
export function guardOwnConnectionErrors(connection: Connection): Connection {
  connection.on('error', keptByTheLibrary);
  return connection;
}
