/**
 * A paused registry leader, end to end: two `kstack schema-registry` processes in one group on
 * `kstack up --brokers 1`; while registrations go to the leader one after another, it is stopped
 * (SIGSTOP) until the group elects the other, which registers; then it is resumed (SIGCONT). The
 * registration it was in the middle of would be refused as fenced if the pause fell inside its
 * append; otherwise it learns of its demotion on resuming and forwards (what 2 of 2 runs saw: the
 * pause never fell inside an append, 0 fenced, 11 and 29 registrations forwarded). Either way no record of its producer epoch may follow the
 * new leader's in `_schemas`, committed or not, every acknowledged registration is served, no
 * refused one is, and both instances serve the same schemas. fencing.test.ts covers the unaware old leader
 * deterministically; this checks the processes and the group as shipped. Not in the unit run
 * (a session timeout, 10 s, is waited out). Ports: kstack 25230, registries 25231-25232.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerProcess } from '../engine/broker-process.ts';
import { RegistryProcess, readTopicRaw, waitForRegistryGroup } from './registry-process.ts';

const BROKER_PORT = 25230;
const OLD_PORT = 25231;
const NEW_PORT = 25232;
const GROUP_ID = 'schema-registry-fencing-test';
const TOPIC = '_schemas-fencing-slow';
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** A group settles, or a paused member's session (10 s) expires, on a loaded CI machine. */
const GROUP_SETTLED_TIMEOUT_MS = 120_000;
const ARGS = [
  '--group-id',
  GROUP_ID,
  '--topic',
  TOPIC,
  '--leader-wait-ms',
  '120000',
  '--fenced-writes',
  'true',
];

const avro = (name: string) =>
  JSON.stringify({ schema: JSON.stringify({ type: 'record', name, fields: [{ name: 'n', type: 'int' }] }) });

function register(url: string, subject: string) {
  return fetch(`${url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': CONTENT_TYPE },
    body: avro(subject.replace(/-/g, '_')),
  }).then(async (response) => ({ status: response.status, text: await response.text() }));
}

describe('a paused registry leader is replaced and writes nothing after', { timeout: 300_000 }, () => {
  const broker = new BrokerProcess(BROKER_PORT);
  const old = new RegistryProcess(`127.0.0.1:${BROKER_PORT}`, OLD_PORT, ARGS);
  const next = new RegistryProcess(`127.0.0.1:${BROKER_PORT}`, NEW_PORT, ARGS);

  before(async () => {
    await broker.start(90_000);
    await old.start();
    await next.start();
  });
  after(async () => {
    old.signal('SIGCONT');
    await Promise.allSettled([old.stop('SIGKILL'), next.stop()]);
    await broker.stop();
  });

  it('SIGSTOP the leader: the other is elected; after SIGCONT no write of the old one reaches _schemas', async () => {
    const leaderIs =
      (port: number, members: number) => (view: Awaited<ReturnType<typeof waitForRegistryGroup>>) =>
        view.state === 'Stable' &&
        view.members.length === members &&
        view.members.every((member) => member.leader?.port === port);
    await waitForRegistryGroup(broker.bootstrap, GROUP_ID, leaderIs(OLD_PORT, 2), GROUP_SETTLED_TIMEOUT_MS);

    // Registrations to the leader one after another, so that the pause most likely lands inside
    // one (after its leadership check, before or during its append): that append then meets the
    // new leader's fence when the process runs again. The loop goes on through the pause.
    const answers: { subject: string; status: number; text: string }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const subject = `old-${i}`;
        answers.push({ subject, ...(await register(old.url, subject)) });
      }
    })();
    await sleep(1_500);
    old.signal('SIGSTOP');
    const pausedAt = Date.now();
    await waitForRegistryGroup(broker.bootstrap, GROUP_ID, leaderIs(NEW_PORT, 1), GROUP_SETTLED_TIMEOUT_MS);
    const electedMs = Date.now() - pausedAt;
    const afterElection = await register(next.url, 'after-election');
    assert.equal(afterElection.status, 200, afterElection.text);
    old.signal('SIGCONT');
    // Two more after the resume: the old instance forwards them once it knows its demotion.
    while (answers.filter((a) => a.status === 200).length < 2 || answers.length < 3) await sleep(200);
    writing = false;
    await writer;
    const fenced = answers.filter((a) => /fenced/.test(a.text));
    process.stdout.write(
      `# new leader elected ${electedMs} ms after SIGSTOP; ${answers.length} registrations to the old leader: ` +
        `${answers.filter((a) => a.status === 200).length} answered 200, ${fenced.length} refused as fenced ` +
        `(${fenced.map((a) => a.text).join('; ')})\n`,
    );
    // Each answer is a success or a refusal that names the fence; nothing else.
    for (const a of answers) if (a.status !== 200) assert.match(a.text, /fenced/, `${a.subject}: ${a.text}`);

    const records = await readTopicRaw(broker.bootstrap, TOPIC);
    const subjectOf = (r: { key: string }) => (JSON.parse(r.key) as { subject?: string }).subject;
    const claim = records.findIndex((r) => subjectOf(r) === 'after-election');
    const newEpoch = records[claim]?.epoch ?? -1;
    const show = records.map((r) => `${r.offset}:${subjectOf(r)}@${r.epoch}`).join(' ');
    for (const record of records.slice(claim)) {
      assert.equal(record.epoch, newEpoch, `a record of an older epoch after the new leader's: ${show}`);
    }
    // Nothing acknowledged is lost, nothing refused is served.
    const served = (await fetch(`${next.url}/subjects`).then((x) => x.json())) as string[];
    for (const a of answers)
      assert.equal(served.includes(a.subject), a.status === 200, `${a.subject}: ${show}`);
    const subjects = served;
    // Both serve what `_schemas` holds, the same for each.
    const listed = await Promise.all(
      [old, next].map((r) => fetch(`${r.url}/subjects`).then((x) => x.json() as Promise<string[]>)),
    );
    for (const list of listed) assert.deepEqual(list.sort(), [...subjects].sort());
  });
});
