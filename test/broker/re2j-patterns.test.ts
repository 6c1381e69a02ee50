/**
 * Regular expressions as Kafka reads them (src/broker/re2j.ts): Kafka 4.1.1 compiles
 * ListTransactions' TransactionalIdPattern (KIP-1152) and KIP-848 subscription regexes with re2j,
 * not with a JavaScript RegExp. The same requests to `kstack up` and to the one-node reference, the
 * same assertions; every code, message and id list below is what the reference answered
 * (2026-12-06). The expressions are the ones where the two engines part: refused by re2j and
 * read by RegExp (`a{1001}`, `\C`, a backreference, a lookahead), and read by re2j with a meaning
 * RegExp lacks (`(?i)`, `\Q…\E`, `[[:alpha:]]`, `\pL`); plus one both read alike.
 * Ports (docs/team-rules.md): the reference 27540 (its controller 27590), kstack 27541.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { clientTo, initProducerId, send } from '../coordinator/raw-requests.ts';
import { kstackTarget, referenceTarget } from './targets.ts';

const REFERENCE_PORT = 27540;
const KSTACK_PORT = 27541;
/** A bound on a condition (a coordinator loaded, an assignment reached) on a loaded machine. */
const CONDITION_TIMEOUT_MS = 90_000;
const POLL_MS = 200;

const TRANSACTIONAL_IDS = ['re2j-tx.a', 're2j-txxa', 'RE2J-TX', 'other'];
/** [TransactionalIdPattern, error code, the ids listed] as the reference answered. */
const LIST_TRANSACTIONS: [string, number, string[]][] = [
  ['re2j-tx\\.a', ErrorCode.NONE, ['re2j-tx.a']],
  ['re2j-tx.a', ErrorCode.NONE, ['re2j-tx.a', 're2j-txxa']],
  ['\\Qre2j-tx.a\\E', ErrorCode.NONE, ['re2j-tx.a']],
  ['(?i)re2j-tx', ErrorCode.NONE, ['RE2J-TX']],
  ['[[:alpha:]]+', ErrorCode.NONE, ['other']],
  ['\\pL+', ErrorCode.NONE, ['other']],
  ['(a)\\1', ErrorCode.INVALID_REGULAR_EXPRESSION, []],
  ['(?=x)', ErrorCode.INVALID_REGULAR_EXPRESSION, []],
  ['a{1001}', ErrorCode.INVALID_REGULAR_EXPRESSION, []],
  ['\\C', ErrorCode.INVALID_REGULAR_EXPRESSION, []],
  [')', ErrorCode.INVALID_REGULAR_EXPRESSION, []],
];

/** Kafka's message for a subscription regex re2j refuses, with re2j's description of the fault. */
const refused = (regex: string, description: string) =>
  `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${description}.`;
/** [SubscribedTopicRegex, its error message] as the reference answered: INVALID_REGULAR_EXPRESSION. */
const REFUSED_REGEXES: [string, string | undefined][] = [
  ['[', refused('[', 'missing closing ]')],
  ['a{1001}', refused('a{1001}', 'invalid repeat count')],
  ['\\C', refused('\\C', 'invalid escape sequence')],
  ['a)', refused('a)', 'regexp/syntax: internal error')],
  ['(a)\\1', refused('(a)\\1', 'invalid escape sequence')],
  ['(?=x)', refused('(?=x)', 'invalid or unsupported Perl syntax')],
  ['(?<=a)b', refused('(?<=a)b', 'invalid named capture')],
];

const TOPICS = ['re2j-ta', 're2j-tb', 're2j-tx'];
/** [SubscribedTopicRegex, the topics of TOPICS its member is assigned] as the reference assigned them. */
const ASSIGNED: [string, string[]][] = [
  ['re2j-t[ab]', ['re2j-ta', 're2j-tb']],
  ['\\Qre2j-t\\E[[:alpha:]]', ['re2j-ta', 're2j-tb', 're2j-tx']],
  ['(?i)RE2J-TX', ['re2j-tx']],
  // No length bound: re2j is linear (the reference accepts 1,100 characters; kstack refused over 1,024).
  [`re2j-t[ab]|${'x'.repeat(1100)}`, ['re2j-ta', 're2j-tb']],
];

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${CONDITION_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function findCoordinator(client: ControllerClient, key: string, keyType: 0 | 1): Promise<void> {
  await until(`FindCoordinator ${key}`, async () => {
    const found = await send(client, 10, 4, { keyType, coordinatorKeys: [key] });
    return (found.coordinators as MessageValue[])[0]?.errorCode === ErrorCode.NONE ? true : undefined;
  });
}

async function listTransactions(client: ControllerClient, pattern: string): Promise<[number, string[]]> {
  const answer = await send(client, 66, 2, {
    stateFilters: [],
    producerIdFilters: [],
    durationFilter: -1n,
    transactionalIdPattern: pattern,
  });
  const ids = (answer.transactionStates as { transactionalId: string }[]).map((s) => s.transactionalId);
  return [answer.errorCode as number, ids.sort()];
}

/** Codes a coordinator answers while the group's `__consumer_offsets` partition is still loading here. */
const COORDINATOR_NOT_READY: readonly number[] = [
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
];

/**
 * A new member of a new group joining with `regex` (ConsumerGroupHeartbeat v1), asked again while
 * the coordinator is not ready (the reference names itself coordinator before it has loaded).
 */
function joinWithRegex(client: ControllerClient, group: string, memberId: string, regex: string) {
  return until(`ConsumerGroupHeartbeat ${group}`, async () => {
    const answer = await send(client, 68, 1, {
      groupId: group,
      memberId,
      memberEpoch: 0,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: null,
      subscribedTopicRegex: regex,
      topicPartitions: [],
    });
    return COORDINATOR_NOT_READY.includes(answer.errorCode as number) ? undefined : answer;
  });
}

/** The names of this test's topics in a heartbeat's assignment; undefined when it is unchanged (null). */
function assignedNames(answer: MessageValue, topicNames: Map<string, string>): string[] | undefined {
  const assignment = answer.assignment as { topicPartitions: { topicId: string }[] } | null;
  if (assignment === null) return undefined;
  // Only this test's topics: Kafka also assigns internal topics a regex matches.
  return assignment.topicPartitions
    .map((p) => topicNames.get(p.topicId))
    .filter((name): name is string => name !== undefined)
    .sort();
}

/**
 * Heartbeats a member joined with `regex` until the topics it is assigned are `expected`; the
 * topics last assigned if they never are (the assertion then shows the difference).
 */
async function assignedTopics(
  client: ControllerClient,
  regex: string,
  topicNames: Map<string, string>,
  expected: string[],
): Promise<string[]> {
  const group = `re2j-group-${randomUUID()}`;
  const memberId = randomUUID();
  await findCoordinator(client, group, 0);
  const joined = await joinWithRegex(client, group, memberId, regex);
  assert.equal(joined.errorCode, ErrorCode.NONE, `${regex}: ${joined.errorMessage}`);
  let memberEpoch = joined.memberEpoch as number;
  // kstack assigns in the answer to the join; Kafka resolves the regex first and assigns later.
  let topics = assignedNames(joined, topicNames) ?? [];
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  while (JSON.stringify(topics) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const answer = await send(client, 68, 1, {
      groupId: group,
      memberId,
      memberEpoch,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      topicPartitions: null,
    });
    assert.equal(answer.errorCode, ErrorCode.NONE, `${regex}: ${answer.errorMessage}`);
    memberEpoch = answer.memberEpoch as number;
    topics = assignedNames(answer, topicNames) ?? topics;
  }
  await send(client, 68, 1, { groupId: group, memberId, memberEpoch: -1 });
  return topics;
}

for (const makeTarget of [
  () => kstackTarget(KSTACK_PORT),
  () => referenceTarget(REFERENCE_PORT, 'kstack-re2j-ref-'),
]) {
  const target = makeTarget();
  describe(`re2j regular expressions: ${target.title}`, { timeout: 600_000 }, () => {
    let client: ControllerClient;
    before(
      async () => {
        await target.start();
        client = clientTo(target.port, 're2j-patterns');
      },
      { timeout: 300_000 },
    );
    after(
      async () => {
        client?.close();
        await target.stop();
      },
      { timeout: 120_000 },
    );

    it('ListTransactions v2 reads TransactionalIdPattern as re2j: the ids whole-matched, or INVALID_REGULAR_EXPRESSION', async () => {
      for (const transactionalId of TRANSACTIONAL_IDS) {
        await findCoordinator(client, transactionalId, 1);
        await until(`InitProducerId ${transactionalId}`, () => initProducerId(client, transactionalId));
      }
      const answers = [];
      for (const [pattern] of LIST_TRANSACTIONS) {
        answers.push([pattern, ...(await listTransactions(client, pattern))]);
      }
      assert.deepEqual(answers, LIST_TRANSACTIONS);
    });

    it('ConsumerGroupHeartbeat refuses what re2j refuses: INVALID_REGULAR_EXPRESSION, with Kafka message', async () => {
      const answers = [];
      for (const [regex, message] of REFUSED_REGEXES) {
        const group = `re2j-refused-${randomUUID()}`;
        await findCoordinator(client, group, 0);
        const answer = await joinWithRegex(client, group, randomUUID(), regex);
        answers.push([regex, answer.errorCode, message === undefined ? undefined : answer.errorMessage]);
      }
      assert.deepEqual(
        answers,
        REFUSED_REGEXES.map(([regex, message]) => [regex, ErrorCode.INVALID_REGULAR_EXPRESSION, message]),
      );
    });

    it('a regex subscription is assigned the topics whose whole name re2j matches', async () => {
      const created = await send(client, 19, 7, {
        topics: TOPICS.map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: -1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 30_000,
      });
      const topicNames = new Map<string, string>();
      for (const topic of created.topics as { name: string; errorCode: number; topicId: string }[]) {
        assert.equal(topic.errorCode, ErrorCode.NONE, `CreateTopics ${topic.name}`);
        topicNames.set(topic.topicId, topic.name);
      }
      const assigned = [];
      for (const [regex, expected] of ASSIGNED) {
        assigned.push([regex, await assignedTopics(client, regex, topicNames, expected)]);
      }
      assert.deepEqual(assigned, ASSIGNED);
    });
  });
}
