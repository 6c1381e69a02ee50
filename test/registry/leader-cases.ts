/**
 * Leader election between `kstack schema-registry` processes on one cluster: the group the cluster's
 * coordinator describes, forwarding from followers, a SIGKILLed leader replaced by the next eligible
 * instance, and an instance with `--leader-eligibility false` that never leads. Run by
 * serdes.test.ts on its `kstack up --brokers 3` (the group's coordinator is any of the three nodes);
 * the instances keep a group and a `_schemas` topic of their own, apart from that file's registry.
 * Ports: registries 20241-20243.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RegistryIdentity } from '../../src/registry/leader-protocol.ts';
import { RegistryProcess, waitForRegistryGroup } from './registry-process.ts';

/** The smallest URL, but not eligible: it must never lead. */
const INELIGIBLE_PORT = 20241;
const FIRST_PORT = 20242;
const SECOND_PORT = 20243;
/** Apart from the registry of the file that runs these cases (group `schema-registry`, `_schemas`). */
const GROUP_ID = 'schema-registry-leader-test';
const TOPIC = '_schemas-leader-test';
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** Generous for a loaded CI machine: a group settles, or a killed leader's session (10 s) expires. */
const GROUP_SETTLED_TIMEOUT_MS = 120_000;
/** Writes wait this long for a leader; longer than a failover takes even under load. */
const WAIT_ARGS = ['--leader-wait-ms', '120000', '--group-id', GROUP_ID, '--topic', TOPIC];

const avro = (name: string) =>
  JSON.stringify({ type: 'record', name, namespace: 'kstack.leader', fields: [{ name: 'a', type: 'int' }] });

async function register(url: string, subject: string, schema: string): Promise<number> {
  const response = await fetch(`${url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': CONTENT_TYPE },
    body: JSON.stringify({ schema }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${url}: ${text}`);
  return (JSON.parse(text) as { id: number }).id;
}

const portOf = (leader: RegistryIdentity | null) => leader?.port ?? null;

/** The cases, against the running cluster at `bootstrap` (every broker, comma-separated). */
export function describeLeaderElection(bootstrap: string): void {
  const broker = { bootstrap };
  const ineligible = new RegistryProcess(broker.bootstrap, INELIGIBLE_PORT, [
    '--leader-eligibility',
    'false',
    ...WAIT_ARGS,
  ]);
  const first = new RegistryProcess(broker.bootstrap, FIRST_PORT, WAIT_ARGS);
  const second = new RegistryProcess(broker.bootstrap, SECOND_PORT, WAIT_ARGS);

  describe('Schema Registry instances elect a leader through a Kafka group', { timeout: 600_000 }, () => {
    before(async () => {
      await Promise.all([ineligible.start(), first.start(), second.start()]);
    });
    after(async () => {
      await Promise.allSettled([ineligible.stop(), first.stop(), second.stop()]);
    });

    it('the eligible instance with the smallest URL leads; the ineligible one does not, though its URL is smaller', async () => {
      const group = await waitForRegistryGroup(
        broker.bootstrap,
        GROUP_ID,
        (view) =>
          view.state === 'Stable' &&
          view.members.length === 3 &&
          view.members.every((member) => portOf(member.leader) === FIRST_PORT),
        GROUP_SETTLED_TIMEOUT_MS,
      );
      assert.equal(group.protocolType, 'sr');
      assert.equal(group.protocol, 'v0');
      assert.deepEqual(group.members.map((m) => `${m.identity.port}:${m.identity.leaderEligible}`).sort(), [
        `${INELIGIBLE_PORT}:false`,
        `${FIRST_PORT}:true`,
        `${SECOND_PORT}:true`,
      ]);
    });

    it('followers forward writes to the leader and read them back at once', async () => {
      const viaIneligible = await register(ineligible.url, 'leader-a', avro('A'));
      const viaSecond = await register(second.url, 'leader-b', avro('B'));
      assert.notEqual(viaIneligible, viaSecond);
      for (const [url, id] of [
        [ineligible.url, viaIneligible],
        [second.url, viaSecond],
        [first.url, viaIneligible],
        [first.url, viaSecond],
      ] as const) {
        const response = await fetch(`${url}/schemas/ids/${id}`);
        assert.equal(response.status, 200, `${url} id ${id}: ${await response.text()}`);
      }
      assert.match(first.output, new RegExp(`leader http://127\\.0\\.0\\.1:${FIRST_PORT}`));
    });

    it('a SIGKILLed leader is replaced by the next eligible instance, which accepts writes and reuses no id', async () => {
      const maxId = (await (await fetch(`${first.url}/schemas/ids/1?fetchMaxId=true`)).json()) as {
        maxId: number;
      };
      await first.stop('SIGKILL');
      const killedAt = Date.now();
      // Sent to the follower that may not lead: it waits for the group to elect the next leader.
      const id = await register(ineligible.url, 'leader-c', avro('C'));
      process.stdout.write(
        `# failover: a write sent after the leader's SIGKILL answered in ${Date.now() - killedAt} ms\n`,
      );
      assert.equal(id, maxId.maxId + 1, 'the new leader read _schemas to its end before it wrote');
      const group = await waitForRegistryGroup(
        broker.bootstrap,
        GROUP_ID,
        (view) => view.state === 'Stable' && view.members.length === 2,
        GROUP_SETTLED_TIMEOUT_MS,
      );
      assert.deepEqual(
        group.members.map((m) => portOf(m.leader)),
        [SECOND_PORT, SECOND_PORT],
      );
      assert.equal(await register(second.url, 'leader-d', avro('D')), id + 1);
    });

    it('left alone, the ineligible instance still does not lead: it serves reads, and the group names no leader', async () => {
      await second.stop();
      const group = await waitForRegistryGroup(
        broker.bootstrap,
        GROUP_ID,
        (view) => view.state === 'Stable' && view.members.length === 1,
        GROUP_SETTLED_TIMEOUT_MS,
      );
      assert.equal(group.members[0]?.identity.port, INELIGIBLE_PORT);
      assert.equal(group.members[0]?.leader, null);
      const subjects = await fetch(`${ineligible.url}/subjects`);
      assert.deepEqual(await subjects.json(), ['leader-a', 'leader-b', 'leader-c', 'leader-d']);
      assert.match(ineligible.output, /no leader-eligible member, writes are refused/);
    });
  });
}
