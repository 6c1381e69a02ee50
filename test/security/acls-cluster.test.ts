/**
 * ACLs on the 3-node cluster (ClusterNode in this process, real sockets and files): an ACL created
 * through the active controller's broker is a record of the metadata quorum, and every broker's
 * authorizer enforces it once it has replayed that record; its deletion likewise (a write sent to
 * another node is forwarded: test/engine/cluster-admin.test.ts). The time
 * from CreateAcls's answer to the third broker enforcing it is printed (the issue asks for under a
 * second; the assertion allows the loaded CI machine a minute).
 * Ports (docs/team-rules.md): brokers 21530-21532, their controller listeners 21580-21582.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClusterNode } from '../../src/engine/cluster-node.ts';
import { AclOperation, ResourceType } from '../../src/security/acls.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { AUTHORIZER } from '../../src/security/request-authorization.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { WireClient } from './support.ts';

const BROKER_PORTS = [21530, 21531, 21532] as const;
const CONTROLLER_PORTS = [21580, 21581, 21582] as const;
const CLUSTER_ID = 'a0NzdGFja0FjbENsdXN0ZXI';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const ALICE = { principal: 'User:alice', host: '127.0.0.1' };

let cluster: TestCluster;
let nodes: ClusterNode[] = [];

const waitFor = (what: string, check: () => boolean): Promise<void> => cluster.waitFor(what, check);

const aliceMayRead = (node: ClusterNode): boolean =>
  node.broker.slots.get(AUTHORIZER)?.authorize(ALICE, AclOperation.READ, ResourceType.TOPIC, 'orders') ===
  true;

before(async () => {
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    // ANONYMOUS (PLAINTEXT) is the super user that manages the ACLs here.
    config: { 'authorizer.class.name': STANDARD_AUTHORIZER, 'super.users': 'User:ANONYMOUS' },
    waitMs: WAIT_MS,
    waitReady: false,
  });
  nodes = cluster.nodes();
});

after(() => cluster?.stop());

test("an ACL created or deleted through the controller's broker is enforced by all three", {
  timeout: 300_000,
}, async () => {
  let leaderId = -1;
  await waitFor('one active controller named by every node', () => {
    const ids = new Set(nodes.map((node) => node.controller.driver.leader().leaderId));
    leaderId = [...ids][0] ?? -1;
    return ids.size === 1 && leaderId > 0;
  });
  assert.equal(nodes.some(aliceMayRead), false);
  const client = await WireClient.connect(BROKER_PORTS[leaderId - 1]!);
  const created = await client.request(30, 3, {
    creations: [
      {
        resourceType: ResourceType.TOPIC,
        resourceName: 'orders',
        resourcePatternType: 3,
        principal: 'User:alice',
        host: '*',
        operation: AclOperation.READ,
        permissionType: 3,
      },
    ],
  });
  const answeredAt = performance.now();
  assert.deepEqual((created as { results: unknown[] }).results, [{ errorCode: 0, errorMessage: '' }]);
  await waitFor('every broker allowing alice to read orders', () => nodes.every(aliceMayRead));
  const enforcedMs = performance.now() - answeredAt;
  console.log(`ACL enforced by the 3 brokers ${enforcedMs.toFixed(0)} ms after CreateAcls answered`);

  // Listed by every broker, then deleted.
  for (const port of BROKER_PORTS) {
    const listing = await WireClient.connect(port);
    const answer = (await listing.request(29, 3, {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    })) as { resources: { resourceName: string }[] };
    assert.deepEqual(
      answer.resources.map((r) => r.resourceName),
      ['orders'],
      `broker on ${port}`,
    );
    listing.close();
  }
  const deleted = (await client.request(31, 3, {
    filters: [
      {
        resourceTypeFilter: 2,
        resourceNameFilter: 'orders',
        patternTypeFilter: 3,
        principalFilter: 'User:alice',
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      },
    ],
  })) as { filterResults: { matchingAcls: unknown[] }[] };
  assert.equal(deleted.filterResults[0]?.matchingAcls.length, 1);
  await waitFor('no broker allowing alice any more', () => !nodes.some(aliceMayRead));
  client.close();
});
