// By hand (not CI: three JVMs take minutes to start here): what Apache Kafka 4.1.1 answers to the
// `timeoutMs` of CreateTopics (19 v7), CreatePartitions (37 v3) and DeleteTopics (20 v6), on a
// broker listener (forwarded to the controller) and on the active controller's own listener:
// with timeoutMs 0 and -1 on a healthy cluster, then with timeoutMs 2,000 on the quorum leader whose
// two peers are SIGSTOPped (cut off: it cannot commit). Prints every answer and when it came.
// Ports: brokers 27307-27309, their controllers 27357-27359.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-admin-timeout-reference-'));
const cluster = new ReferenceCluster({ nodes: 3, basePort: 27307, dataDir });
const clients: ControllerClient[] = [];
const paused: number[] = [];

after(async () => {
  for (const client of clients) client.close();
  for (const id of paused) process.kill(pid(id), 'SIGCONT');
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

function pid(id: number): number {
  return Number(readFileSync(join(cluster.node(id).dir, 'jvm.pid'), 'utf8'));
}

function client(port: number): ControllerClient {
  const made = clientTo(port, `admin-timeout-${port}-${clients.length}`);
  clients.push(made);
  return made;
}

type Answer = { code: number | string; message: string | null; ms: number };

async function ask(
  label: string,
  port: number,
  apiKey: number,
  version: number,
  body: MessageValue,
): Promise<Answer> {
  const start = performance.now();
  try {
    const answer = await send(client(port), apiKey, version, body);
    const list = (answer.topics ?? answer.results ?? answer.responses) as {
      errorCode: number;
      errorMessage: string | null;
    }[];
    const first = list[0];
    const seen = {
      code: first?.errorCode ?? -1,
      message: first?.errorMessage ?? null,
      ms: Math.round(performance.now() - start),
    };
    console.log(`${label}: ${JSON.stringify(seen)}`);
    return seen;
  } catch (error) {
    const seen = {
      code: 'no answer',
      message: (error as Error).message,
      ms: Math.round(performance.now() - start),
    };
    console.log(`${label}: ${JSON.stringify(seen)}`);
    return seen;
  }
}

const create = (name: string, timeoutMs: number) => ({
  topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
  timeoutMs,
});
const grow = (name: string, count: number, timeoutMs: number) => ({
  topics: [{ name, count, assignments: null }],
  timeoutMs,
});
const remove = (name: string, timeoutMs: number) => ({ topics: [{ name, topicId: ZERO_UUID }], timeoutMs });

test('timeoutMs on the 3-node reference', { timeout: 900_000 }, async () => {
  await cluster.start(600_000);
  const broker = cluster.node(1).port;
  for (const timeout of [0, -1]) {
    for (const [where, port] of [
      ['broker', broker],
      ['controller', 0],
    ] as const) {
      const quorum = await send(client(broker), 55, 2, {
        topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
      });
      const leader = (quorum.topics as { partitions: { leaderId: number }[] }[])[0]!.partitions[0]!.leaderId;
      const target = port === 0 ? cluster.node(leader).controllerPort : port;
      const name = `t${timeout < 0 ? 'neg' : timeout}-${where}`;
      await ask(`healthy ${where} CreateTopics timeoutMs ${timeout}`, target, 19, 7, create(name, timeout));
      await new Promise((r) => setTimeout(r, 1000));
      await ask(
        `healthy ${where} CreatePartitions timeoutMs ${timeout}`,
        target,
        37,
        3,
        grow(name, 2, timeout),
      );
      await new Promise((r) => setTimeout(r, 1000));
      await ask(`healthy ${where} DeleteTopics timeoutMs ${timeout}`, target, 20, 6, remove(name, timeout));
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  for (const name of ['grow-b', 'doomed-b', 'grow-c', 'doomed-c'])
    await ask(`setup ${name}`, broker, 19, 7, create(name, 30_000));
  await new Promise((r) => setTimeout(r, 2000));
  const quorum = await send(client(broker), 55, 2, {
    topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
  });
  const leader = (quorum.topics as { partitions: { leaderId: number }[] }[])[0]!.partitions[0]!.leaderId;
  console.log(`quorum leader ${leader}`);
  for (const id of [1, 2, 3].filter((n) => n !== leader)) {
    process.kill(pid(id), 'SIGSTOP');
    paused.push(id);
  }
  const own = cluster.node(leader);
  const answers = await Promise.all([
    ask('cut-off controller CreateTopics 2000', own.controllerPort, 19, 7, create('cut-c', 2000)),
    ask('cut-off controller CreatePartitions 2000', own.controllerPort, 37, 3, grow('grow-c', 3, 2000)),
    ask('cut-off controller DeleteTopics 2000', own.controllerPort, 20, 6, remove('doomed-c', 2000)),
    ask('cut-off broker CreateTopics 2000', own.port, 19, 7, create('cut-b', 2000)),
    ask('cut-off broker CreatePartitions 2000', own.port, 37, 3, grow('grow-b', 3, 2000)),
    ask('cut-off broker DeleteTopics 2000', own.port, 20, 6, remove('doomed-b', 2000)),
  ]);
  console.log(JSON.stringify(answers));
  for (const id of paused.splice(0)) process.kill(pid(id), 'SIGCONT');
  await new Promise((r) => setTimeout(r, 15_000));
  const metadata = await send(client(broker), 3, 12, { topics: null });
  console.log(
    (metadata.topics as { name: string; errorCode: number; partitions: unknown[] }[])
      .map((t) => `${t.name}:${t.errorCode}:${t.partitions.length}`)
      .join(' '),
  );
});
