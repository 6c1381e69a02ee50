/**
 * The consumer-group session and heartbeat bounds (src/broker/config.ts consumerGroupTimingProblem,
 * checked when a BrokerConfig is built from the `--override`s) without a broker: Kafka's defaults
 * pass; each of GroupCoordinatorConfig's seven requirements, broken alone, refuses the config with
 * Kafka's message (the one Apache Kafka 4.1.1 stops with:
 * `group.consumer.session.timeout.ms=10000` alone made the reference's kafka-storage format fail with
 * "group.consumer.session.timeout.ms must be greater than or equal to
 * group.consumer.min.session.timeout.ms"); the shortened timings kip848-clients.slow.ts runs both
 * engines with pass, as the reference accepted them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerConfig } from '../../src/broker/config.ts';

type Overrides = Record<string, number>;

/** The broker config built from these overrides: null when accepted, else the refusal's message. */
function refusal(overrides: Overrides): string | null {
  const values = Object.fromEntries(Object.entries(overrides).map(([name, v]) => [name, String(v)]));
  try {
    new BrokerConfig(values);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('consumer-group timing bounds (group.consumer.*)', () => {
  it('accepts Kafka’s defaults and the short session the KIP-848 client test uses', () => {
    assert.equal(refusal({}), null);
    const short = {
      'group.consumer.session.timeout.ms': 10_000,
      'group.consumer.min.session.timeout.ms': 10_000,
      'group.consumer.heartbeat.interval.ms': 1_000,
      'group.consumer.min.heartbeat.interval.ms': 1_000,
    };
    assert.equal(refusal(short), null);
    assert.equal(
      new BrokerConfig({
        'group.consumer.session.timeout.ms': '10000',
        'group.consumer.min.session.timeout.ms': '10000',
      }).getNumber('group.consumer.session.timeout.ms'),
      10_000,
    );
  });

  const broken: [string, Overrides, string][] = [
    [
      'max heartbeat below min',
      { 'group.consumer.max.heartbeat.interval.ms': 4_000, 'group.consumer.heartbeat.interval.ms': 4_000 },
      'group.consumer.max.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms',
    ],
    [
      'heartbeat below its min',
      { 'group.consumer.heartbeat.interval.ms': 1_000 },
      'group.consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms',
    ],
    [
      'heartbeat above its max',
      { 'group.consumer.heartbeat.interval.ms': 16_000 },
      'group.consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms',
    ],
    [
      'max session below min',
      { 'group.consumer.max.session.timeout.ms': 40_000, 'group.consumer.session.timeout.ms': 40_000 },
      'group.consumer.max.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms',
    ],
    [
      'session below its min (what the reference refused)',
      { 'group.consumer.session.timeout.ms': 10_000 },
      'group.consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms',
    ],
    [
      'session above its max',
      { 'group.consumer.session.timeout.ms': 61_000 },
      'group.consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms',
    ],
    [
      'heartbeat not below the session',
      {
        'group.consumer.session.timeout.ms': 10_000,
        'group.consumer.min.session.timeout.ms': 10_000,
        'group.consumer.heartbeat.interval.ms': 10_000,
      },
      'group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms',
    ],
  ];
  for (const [title, changes, message] of broken) {
    it(`refuses ${title} with Kafka’s message`, () => {
      assert.equal(refusal(changes), message);
    });
  }
});
