/**
 * The registry group's metadata and assignment (Confluent's JSON, protocol type `sr`) and its leader
 * choice, with bytes alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ASSIGNMENT_DUPLICATE_URLS,
  ASSIGNMENT_NO_ERROR,
  chooseLeader,
  decodeAssignment,
  decodeIdentity,
  encodeAssignment,
  encodeIdentity,
  type RegistryIdentity,
} from '../../src/registry/leader-protocol.ts';

const identity = (port: number, leaderEligible = true, host = '127.0.0.1'): RegistryIdentity => ({
  scheme: 'http',
  host,
  port,
  leaderEligible,
});

describe('registry group protocol', () => {
  it('writes the identity with the field names Confluent reads', () => {
    assert.equal(
      encodeIdentity(identity(8081, true, 'registry-1')).toString(),
      '{"version":1,"host":"registry-1","port":8081,"master_eligibility":true,"scheme":"http"}',
    );
    // Written by a Confluent instance: any field order, scheme absent (it defaults to http).
    assert.deepEqual(
      decodeIdentity(Buffer.from('{"port":8081,"master_eligibility":false,"host":"sr-2","version":1}')),
      identity(8081, false, 'sr-2'),
    );
  });

  it('refuses metadata it cannot read, naming the field', () => {
    assert.throws(() => decodeIdentity(Buffer.from('not json')), /member metadata: not JSON/);
    assert.throws(() => decodeIdentity(Buffer.from('{"port":1,"master_eligibility":true}')), /"host"/);
    assert.throws(
      () => decodeIdentity(Buffer.from('{"host":"h","port":70000,"master_eligibility":true}')),
      /"port" must be a port number/,
    );
    assert.throws(
      () => decodeIdentity(Buffer.from('{"host":"h","port":1,"master_eligibility":"yes"}')),
      /"master_eligibility" must be true or false/,
    );
  });

  it('round-trips the assignment, and reads one without a leader', () => {
    const assignment = { error: ASSIGNMENT_NO_ERROR, leaderMemberId: 'sr-1-abc', leader: identity(8081) };
    const bytes = encodeAssignment(assignment);
    assert.deepEqual(JSON.parse(bytes.toString()), {
      version: 1,
      error: 0,
      master: 'sr-1-abc',
      master_identity: {
        version: 1,
        host: '127.0.0.1',
        port: 8081,
        master_eligibility: true,
        scheme: 'http',
      },
    });
    assert.deepEqual(decodeAssignment(bytes), assignment);
    assert.deepEqual(decodeAssignment(Buffer.from('{"version":1,"error":0}')), {
      error: 0,
      leaderMemberId: null,
      leader: null,
    });
    assert.throws(() => decodeAssignment(Buffer.from('[]')), /assignment: must be a JSON object/);
  });

  it('elects the eligible member with the smallest URL, compared as text', () => {
    const members = [
      { memberId: 'm-9000', identity: identity(9000) },
      // Text order, as Confluent compares: "…:20210" < "…:9000".
      { memberId: 'm-20210', identity: identity(20210) },
      // The smallest URL, but not eligible.
      { memberId: 'm-10000', identity: identity(10000, false) },
    ];
    for (const order of [members, [...members].reverse()]) {
      const chosen = chooseLeader(order);
      assert.equal(chosen.error, ASSIGNMENT_NO_ERROR);
      assert.equal(chosen.leaderMemberId, 'm-20210');
      assert.deepEqual(chosen.leader, identity(20210));
    }
  });

  it('names no leader when no member is eligible, and flags two members with one URL', () => {
    assert.deepEqual(chooseLeader([{ memberId: 'a', identity: identity(1, false) }]), {
      error: ASSIGNMENT_NO_ERROR,
      leaderMemberId: null,
      leader: null,
    });
    const duplicate = chooseLeader([
      { memberId: 'a', identity: identity(8081) },
      { memberId: 'b', identity: identity(8081) },
    ]);
    assert.equal(duplicate.error, ASSIGNMENT_DUPLICATE_URLS);
  });
});
