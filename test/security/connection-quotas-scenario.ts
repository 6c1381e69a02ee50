/**
 * The connection-quota scenarios, on the wire, as any broker answers them (kstack in-process, `kstack
 * up` or Apache Kafka 4.1.1): what a client sees when `max.connections.per.ip` is reached, and under
 * an `ip` quota `connection_creation_rate`. Used by connection-quotas.test.ts (kstack) and
 * connection-quotas-reference.long.ts (both, compared).
 */
import net from 'node:net';
import tls from 'node:tls';
import { encodeRequest } from '../../src/protocol/index.ts';
import { WireClient } from './support.ts';

/** What one new connection got for an ApiVersions v0 sent at once: its answer, or a close, and when. */
export interface ConnectionOutcome {
  readonly outcome: 'answered' | 'closed' | 'nothing';
  readonly afterMs: number;
}

/** The address the per-address scenario connects from (loopback, not the broker's own 127.0.0.1). */
export const CLIENT_ADDRESS = '127.0.0.2';

/**
 * Opens a connection from `localAddress` (through TLS with `secure`), sends ApiVersions v0 and waits up
 * to `waitMs` for the first bytes of an answer or the close. An answered connection is returned open.
 */
export function probeConnection(
  port: number,
  waitMs: number,
  localAddress = CLIENT_ADDRESS,
  secure?: tls.ConnectionOptions,
): Promise<{ outcome: ConnectionOutcome; socket: net.Socket | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket =
      secure === undefined
        ? net.connect({ host: '127.0.0.1', port, localAddress })
        : // Node passes localAddress on to the TCP connect; its TLS typings leave it out.
          tls.connect({ host: '127.0.0.1', port, localAddress, ...secure } as tls.ConnectionOptions);
    const done = (outcome: ConnectionOutcome['outcome'], keep: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('close');
      if (!keep) socket.destroy();
      resolve({
        outcome: { outcome, afterMs: Math.round(performance.now() - started) },
        socket: keep ? socket : null,
      });
    };
    const timer = setTimeout(() => done('nothing', false), waitMs);
    socket.once('error', (error) => {
      // A reset after the connect is the broker closing it; before it, the test's own failure.
      if (socket.connecting) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.once(secure === undefined ? 'connect' : 'secureConnect', () => {
      socket.write(
        encodeRequest(
          { requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: 'conn-quotas' },
          {},
        ),
      );
    });
    socket.once('data', () => done('answered', true));
    socket.once('close', () => done('closed', false));
  });
}

/**
 * `max.connections.per.ip.overrides` = `CLIENT_ADDRESS:limit` on the broker: `limit` connections answered, the next closed
 * without an answer; one of them closed, a new one answered again. The outcomes, in order.
 */
export async function perIpScenario(port: number, limit: number, waitMs: number): Promise<string[]> {
  const outcomes: string[] = [];
  const held: net.Socket[] = [];
  for (let i = 0; i <= limit; i++) {
    const { outcome, socket } = await probeConnection(port, waitMs);
    outcomes.push(outcome.outcome);
    if (socket !== null) held.push(socket);
  }
  held.shift()?.destroy();
  // The broker counts the close once it sees it: a new connection may race it, so try until one is
  // served (each refusal is itself the limit still counting the closed one), at most a few times.
  let again = 'closed';
  for (let attempt = 0; attempt < 20 && again !== 'answered'; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { outcome, socket } = await probeConnection(port, waitMs);
    again = outcome.outcome;
    socket?.destroy();
  }
  outcomes.push(`after one closed: ${again}`);
  for (const socket of held) socket.destroy();
  return outcomes;
}

/** AlterClientQuotas (49 v1) on the default `ip` entity: connection_creation_rate = rate (null: removed). */
export async function setDefaultIpRate(port: number, rate: number | null): Promise<void> {
  const client = await WireClient.connect(port);
  try {
    const answer = await client.request(49, 1, {
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: null }],
          ops: [{ key: 'connection_creation_rate', value: rate ?? 0, remove: rate === null }],
        },
      ],
      validateOnly: false,
    });
    if (answer === 'closed') throw new Error('AlterClientQuotas closed the connection');
    const entry = (answer as { entries: { errorCode: number; errorMessage: string | null }[] }).entries[0];
    if (entry?.errorCode !== 0)
      throw new Error(`AlterClientQuotas: ${entry?.errorCode} ${entry?.errorMessage}`);
  } finally {
    client.close();
  }
}

/**
 * `count` connections one after the other, each closed after its answer: under an `ip` quota the
 * later ones are held without an answer and closed after a delay. The outcomes in order.
 */
export async function rateScenario(
  port: number,
  count: number,
  waitMs: number,
  localAddress = CLIENT_ADDRESS,
): Promise<ConnectionOutcome[]> {
  const outcomes: ConnectionOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const { outcome, socket } = await probeConnection(port, waitMs, localAddress);
    outcomes.push(outcome);
    socket?.destroy();
  }
  return outcomes;
}

/** A summary that two brokers can be compared by: runs of the same outcome ("answered×10, closed×5"). */
export function runs(outcomes: readonly string[]): string {
  const parts: string[] = [];
  let last = '';
  let n = 0;
  for (const outcome of [...outcomes, '']) {
    if (outcome === last) n++;
    else {
      if (n > 0) parts.push(`${last}×${n}`);
      last = outcome;
      n = 1;
    }
  }
  return parts.join(', ');
}
