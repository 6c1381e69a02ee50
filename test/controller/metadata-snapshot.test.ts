// A compacted metadata snapshot rebuilds the image it was taken from: random histories of every
// record kind (topics created, changed and deleted, brokers registered again and fenced, configs,
// features, ACLs, SCRAM credentials, quotas), snapshots at random points; the image replayed from
// the snapshot alone must equal the image replayed from the whole history, and stay equal as the
// history goes on from both (later Fence records name broker epochs the snapshot must keep). The
// snapshot holds nothing of deleted topics. A node holding an older state that installs the
// snapshot through its delta reaches the same state. The security stores (src/security) replay both
// record streams and are compared too.
//
// Seeds: SEED_COUNT seeds from a printed base (KSTACK_SNAPSHOT_SEEDS=N for a longer run by hand);
// replay one with KSTACK_SNAPSHOT_SEED=N.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import { PassedOverRecords, snapshotDelta, snapshotRecords } from '../../src/controller/metadata-snapshot.ts';
import { SeededRandom } from '../../src/raft/sim/random.ts';
import { AclStore } from '../../src/security/acls.ts';
import { ClientQuotaStore } from '../../src/security/quotas.ts';
import { ScramCredentialStore } from '../../src/security/scram-store.ts';

const SEED_COUNT = 20;
const BATCHES_PER_HISTORY = 150;
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';

/** One node's state as the records build it: the image and the security stores. */
class State {
  image = MetadataImage.empty(CLUSTER_ID, -1);
  readonly passedOver = new PassedOverRecords();
  readonly acls = new AclStore(() => false);
  readonly scram = new ScramCredentialStore(() => false);
  readonly quotas = new ClientQuotaStore(() => false);

  apply(records: readonly MetadataRecord[], offset: number): void {
    this.image = this.image.apply(records, BigInt(offset));
    this.passedOver.replay(records);
    this.acls.replay(records);
    this.scram.replay(records);
    this.quotas.replay(records);
  }
}

const byKey = <T>(entries: Iterable<[string, T]>) =>
  [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Everything a reader can observe of a state, through the public accessors (not the snapshot code). */
function observed(state: State, quotaKeys: ReadonlySet<string>): unknown {
  const { image } = state;
  return {
    offset: image.metadataOffset,
    brokers: image
      .brokers()
      .map((b) => ({
        ...b,
        epoch: image.brokerEpoch(b.nodeId),
        fenced: image.isFenced(b.nodeId),
        endpoints: image.endpointsOf(b.nodeId),
      }))
      .sort((a, b) => a.nodeId - b.nodeId),
    topics: byKey([...image.topics()].map((t) => [t.name, { ...t, configs: byKey(t.configs) }])),
    topicsById: [...image.topics()].map((t) => image.topicById(t.topicId)?.name === t.name),
    // A resource whose overrides were all removed has none, as one never set.
    brokerConfigs: byKey(
      [...image.brokerConfigs]
        .filter(([, configs]) => configs.size > 0)
        .map(([name, configs]) => [name, byKey(configs)]),
    ),
    groupConfigs: byKey([...image.groupConfigs].map(([name, configs]) => [name, byKey(configs)])),
    features: byKey(image.finalizedFeatures),
    acls: [...state.acls.all()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    scram: state.scram
      .users()
      .sort()
      .map((user) => [user, state.scram.describe(user).sort((a, b) => a.mechanism - b.mechanism)]),
    quotas: [...quotaKeys].map((key) => {
      const [entity, name] = JSON.parse(key) as [[string, string | null][], string];
      return [key, state.quotas.get(new Map(entity), name)];
    }),
    quotaEntities: state.quotas.size,
  };
}

/** Random, valid histories: what a controller could commit. */
class History {
  readonly random: SeededRandom;
  readonly quotaKeys = new Set<string>();
  /** The live topics by name: their id and partition count. */
  readonly #topics = new Map<string, { topicId: string; partitions: number }>();
  readonly #epochs = new Map<number, number>();
  readonly #acls: string[] = [];
  readonly deleted = new Set<string>();
  #ids = 0;
  offset = 0;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  #list(max = 5): number[] {
    const r = this.random;
    return [...new Set(Array.from({ length: r.int(max + 1) }, () => r.between(1, 5)))];
  }

  #topicId(): string {
    return `${(++this.#ids).toString(16).padStart(8, '0')}-0000-4000-8000-${'0'.repeat(12)}`;
  }

  #createTopic(records: MetadataRecord[]): void {
    const r = this.random;
    const name = `${r.chance(0.1) ? '__' : ''}t${r.int(40)}`;
    const current = this.#topics.get(name);
    if (current !== undefined) {
      records.push({ type: 'RemoveTopicRecord', topicId: current.topicId });
      this.deleted.add(current.topicId);
    }
    const topicId = this.#topicId();
    const partitions = r.between(1, 3);
    this.#topics.set(name, { topicId, partitions });
    records.push({ type: 'TopicRecord', name, topicId });
    for (let partitionId = 0; partitionId < partitions; partitionId++) {
      const replicas = this.#list(3);
      records.push({
        type: 'PartitionRecord',
        topicId,
        partitionId,
        replicas,
        isr: replicas.filter(() => r.chance(0.8)),
        leader: replicas[0] ?? -1,
        leaderEpoch: r.int(3),
        partitionEpoch: r.int(3),
        ...(r.chance(0.2) ? { elr: this.#list(2), lastKnownElr: this.#list(2) } : {}),
        ...(r.chance(0.1) ? { addingReplicas: this.#list(2), removingReplicas: this.#list(1) } : {}),
      });
    }
    if (r.chance(0.4)) {
      records.push({
        type: 'ConfigRecord',
        resourceType: 2,
        resourceName: name,
        name: 'min.insync.replicas',
        value: String(r.between(1, 3)),
      });
    }
  }

  #someTopic(): [string, { topicId: string; partitions: number }] | undefined {
    const topics = [...this.#topics];
    return topics.length === 0 ? undefined : this.random.pick(topics);
  }

  #change(records: MetadataRecord[]): void {
    const r = this.random;
    const topic = this.#someTopic();
    if (topic === undefined) return;
    const [name, { topicId, partitions }] = topic;
    const choice = r.int(4);
    if (choice === 0) {
      this.#topics.delete(name);
      this.deleted.add(topicId);
      records.push({ type: 'RemoveTopicRecord', topicId });
    } else if (choice === 1) {
      records.push({
        type: 'ConfigRecord',
        resourceType: 2,
        resourceName: name,
        name: r.pick(['retention.ms', 'cleanup.policy', 'min.insync.replicas']),
        value: r.chance(0.3) ? null : String(r.int(1000)),
      });
    } else {
      const optional = (list: () => number[]) => (r.chance(0.3) ? list() : undefined);
      records.push({
        type: 'PartitionChangeRecord',
        topicId,
        partitionId: r.int(partitions),
        leader: r.pick([-2, -1, 1, 2, 3]),
        isr: optional(() => this.#list(3)),
        replicas: optional(() => this.#list(3)),
        addingReplicas: optional(() => this.#list(2)),
        removingReplicas: optional(() => this.#list(1)),
        elr: optional(() => this.#list(2)),
        lastKnownElr: optional(() => this.#list(2)),
      });
    }
  }

  #broker(records: MetadataRecord[]): void {
    const r = this.random;
    const brokerId = r.between(1, 5);
    const epoch = this.#epochs.get(brokerId);
    if (epoch === undefined || r.chance(0.3)) {
      const port = 9000 + r.int(100);
      records.push({
        type: 'RegisterBrokerRecord',
        brokerId,
        host: '127.0.0.1',
        port,
        rack: r.chance(0.3) ? `rack-${r.int(2)}` : null,
        ...(r.chance(0.5)
          ? {
              endpoints: [
                { name: 'PLAINTEXT', host: '127.0.0.1', port, securityProtocol: 0 },
                { name: 'SASL', host: 'localhost', port: port + 1, securityProtocol: 2 },
              ],
            }
          : {}),
        fenced: r.chance(0.7),
      });
      this.#epochs.set(brokerId, this.offset);
      return;
    }
    // A stale epoch now and then: the image ignores it.
    const named = r.chance(0.8) ? epoch : epoch - 1;
    records.push({
      type: r.chance(0.5) ? 'FenceBrokerRecord' : 'UnfenceBrokerRecord',
      id: brokerId,
      epoch: named,
    });
  }

  #other(records: MetadataRecord[]): void {
    const r = this.random;
    switch (r.int(5)) {
      case 0:
        records.push(
          r.chance(0.5)
            ? {
                type: 'ConfigRecord',
                resourceType: 4,
                resourceName: r.pick(['', '1', '2']),
                name: r.pick(['log.retention.ms', 'message.max.bytes']),
                value: r.chance(0.3) ? null : String(r.int(100_000)),
              }
            : {
                type: 'ConfigRecord',
                resourceType: 32,
                resourceName: r.pick(['group-a', 'group-b', '1']),
                name: r.pick(['consumer.session.timeout.ms', 'consumer.heartbeat.interval.ms']),
                value: r.chance(0.3) ? null : String(r.int(100_000)),
              },
        );
        break;
      case 1:
        records.push({
          type: 'FeatureLevelRecord',
          name: r.pick(['metadata.version', 'group.version', 'transaction.version']),
          featureLevel: r.int(3),
        });
        break;
      case 2:
        if (this.#acls.length > 0 && r.chance(0.4)) {
          const id = this.#acls.splice(r.int(this.#acls.length), 1)[0]!;
          records.push({ type: 'RemoveAccessControlEntryRecord', id });
        } else {
          const id = `acl-${++this.#ids}`;
          this.#acls.push(id);
          records.push({
            type: 'AccessControlEntryRecord',
            id,
            resourceType: 2,
            resourceName: `t${r.int(5)}`,
            patternType: 3,
            principal: `User:u${r.int(3)}`,
            host: '*',
            operation: r.between(2, 4),
            permissionType: 3,
          });
        }
        break;
      case 3: {
        const name = `u${r.int(3)}`;
        const mechanism = r.between(1, 2);
        if (r.chance(0.3)) records.push({ type: 'RemoveUserScramCredentialRecord', name, mechanism });
        else
          records.push({
            type: 'UserScramCredentialRecord',
            name,
            mechanism,
            salt: 'c2FsdA==',
            storedKey: Buffer.from(`stored-${r.int(100)}`).toString('base64'),
            serverKey: Buffer.from(`server-${r.int(100)}`).toString('base64'),
            iterations: 4096 + r.int(100),
          });
        break;
      }
      default: {
        const entity = r.chance(0.5)
          ? [{ entityType: 'user', entityName: r.chance(0.3) ? null : `u${r.int(2)}` }]
          : [
              { entityType: 'client-id', entityName: `c${r.int(2)}` },
              { entityType: 'user', entityName: `u${r.int(2)}` },
            ];
        const key = r.pick(['producer_byte_rate', 'consumer_byte_rate']);
        const sorted = entity.map((c) => [c.entityType, c.entityName]).sort(([a], [b]) => (a! < b! ? -1 : 1));
        this.quotaKeys.add(JSON.stringify([sorted, key]));
        records.push({ type: 'ClientQuotaRecord', entity, key, value: r.int(10_000), remove: r.chance(0.3) });
      }
    }
  }

  /** The next committed batch (1-4 changes) and its offset. */
  next(): { records: MetadataRecord[]; offset: number } {
    this.offset += this.random.between(1, 3);
    const records: MetadataRecord[] = [];
    const changes = this.random.between(1, 4);
    for (let i = 0; i < changes; i++) {
      const choice = this.random.int(10);
      if (choice < 3) this.#createTopic(records);
      else if (choice < 6) this.#change(records);
      else if (choice < 8) this.#broker(records);
      else this.#other(records);
    }
    return { records, offset: this.offset };
  }
}

function checkSeed(seed: number): void {
  const history = new History(seed);
  const full = new State();
  /** States rebuilt from snapshots, each following the history on from its snapshot. */
  const fromSnapshots: State[] = [];
  let older: { state: State; snapshot: MetadataRecord[] } | null = null;
  for (let batch = 0; batch < BATCHES_PER_HISTORY; batch++) {
    const { records, offset } = history.next();
    full.apply(records, offset);
    for (const state of fromSnapshots) state.apply(records, offset);
    const expected = observed(full, history.quotaKeys);
    for (const state of fromSnapshots) {
      assert.deepStrictEqual(observed(state, history.quotaKeys), expected, `seed ${seed}, batch ${batch}`);
    }
    if (!history.random.chance(0.1)) continue;
    const snapshot = snapshotRecords(full.image, full.passedOver);
    const rebuilt = new State();
    rebuilt.apply(snapshot, offset);
    assert.deepStrictEqual(
      observed(rebuilt, history.quotaKeys),
      expected,
      `seed ${seed}, snapshot at ${batch}`,
    );
    for (const record of snapshot) {
      if (record.type === 'TopicRecord' || record.type === 'PartitionRecord')
        assert.ok(!history.deleted.has(record.topicId), `seed ${seed}: a deleted topic in the snapshot`);
    }
    // A node that holds an older snapshot's state installs this one through the delta.
    if (older !== null) {
      const behind = new State();
      behind.apply(older.snapshot, 0);
      behind.apply(snapshotDelta(older.state, full), offset);
      assert.deepStrictEqual(
        observed(behind, history.quotaKeys),
        expected,
        `seed ${seed}, delta at ${batch}`,
      );
    }
    const frozen = new State();
    frozen.apply(snapshot, offset);
    older = { state: frozen, snapshot };
    fromSnapshots.push(rebuilt);
    if (fromSnapshots.length > 3) fromSnapshots.shift();
  }
}

test('a compacted snapshot replays to the image it was taken from, over random histories', () => {
  const replay = process.env.KSTACK_SNAPSHOT_SEED;
  const base = replay === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(replay);
  const count = replay === undefined ? Number(process.env.KSTACK_SNAPSHOT_SEEDS ?? SEED_COUNT) : 1;
  console.log(`metadata-snapshot seeds ${base}..${base + count - 1} (replay one: KSTACK_SNAPSHOT_SEED=N)`);
  for (let seed = base; seed < base + count; seed++) {
    try {
      checkSeed(seed);
    } catch (error) {
      console.log(
        `failing seed ${seed}: KSTACK_SNAPSHOT_SEED=${seed} node --test test/controller/metadata-snapshot.test.ts`,
      );
      throw error;
    }
  }
});

test('a snapshot holds the surviving image only: 1,000 topics created and deleted leave nothing', () => {
  const state = new State();
  const history: MetadataRecord[] = [];
  let offset = 0;
  const apply = (records: MetadataRecord[]) => {
    state.apply(records, offset++);
    history.push(...records);
  };
  apply([
    { type: 'RegisterBrokerRecord', brokerId: 1, host: '127.0.0.1', port: 9092, rack: null, fenced: false },
  ]);
  for (let i = 0; i < 1_000; i++) {
    const topicId = `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    apply([
      { type: 'TopicRecord', name: `churn-${i}`, topicId },
      {
        type: 'PartitionRecord',
        topicId,
        partitionId: 0,
        replicas: [1],
        isr: [1],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
    ]);
    if (i >= 10) apply([{ type: 'RemoveTopicRecord', topicId }]);
  }
  const snapshot = snapshotRecords(state.image, state.passedOver);
  assert.deepEqual(
    snapshot.map((r) => r.type),
    ['RegisterBrokerRecord', ...Array.from({ length: 10 }, () => ['TopicRecord', 'PartitionRecord']).flat()],
  );
  const historyBytes = JSON.stringify({ records: history }).length;
  const snapshotBytes = JSON.stringify({ records: snapshot }).length;
  console.log(
    `history ${history.length} records, ${historyBytes} bytes; snapshot ${snapshot.length} records, ${snapshotBytes} bytes`,
  );
  assert.ok(snapshotBytes * 100 < historyBytes);
});
