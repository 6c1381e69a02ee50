/**
 * Groups of every protocol type, for the tools that describe them (the exporter, the REST proxy, the
 * UI). A classic group's protocol type says how its members' metadata and assignments are encoded:
 * `consumer` (or empty: offsets committed without membership) is Kafka's consumer protocol; the others
 * are other clients' groups, with bytes of their own: a Schema Registry's `sr` (JSON identities),
 * Kafka Connect's `connect`. Kafka's own tools treat them so (checked against Apache Kafka 4.1.1 with a
 * registry in its group): `kafka-consumer-groups --list` leaves them out, `--describe` refuses with
 * "GroupId schema-registry is not a consumer group (sr).", `kafka-groups --list` shows them with their
 * type (Classic) and protocol (sr); kafka_exporter counts every group's members.
 *
 * @platformatic/kafka 2.12.1's `Admin.describeGroups` decodes every member as the consumer protocol and
 * throws, uncaught in its socket callback, on any other group, which ends the process. So groups are
 * described here with the library's DescribeGroups codec on the coordinator's connection (from the
 * Admin's own pool, with its TLS and SASL settings), without decoding members; only the groups that
 * answer as consumer groups are then described again through the Admin for their decoded assignments.
 */
import { type Admin, describeGroupsV5, type Group, type GroupMember } from '@platformatic/kafka';

/** The protocol types of consumer groups, as Kafka's ConsumerProtocol and listConsumerGroups. */
const CONSUMER_PROTOCOL_TYPES: ReadonlySet<string> = new Set(['consumer', '']);
/** FindCoordinator's key type for groups. */
const COORDINATOR_KEY_GROUP = 0;
export function isConsumerProtocolType(protocolType: string): boolean {
  return CONSUMER_PROTOCOL_TYPES.has(protocolType);
}

/** The ids of the consumer groups among listed groups (ListGroups answers), sorted. */
export function consumerGroupIds(listed: ReadonlyMap<string, { protocolType: string }>): string[] {
  return [...listed]
    .filter(([, group]) => isConsumerProtocolType(group.protocolType))
    .map(([id]) => id)
    .sort();
}

/**
 * Describes groups of any protocol type. A consumer group comes as `Admin.describeGroups` gives it
 * (members with their decoded subscriptions and assignments); any other group with its members' ids,
 * client ids and hosts only (`metadata` and `assignments` undefined). A group the coordinator does not
 * know comes back in state Dead with no members, as from the Admin.
 */
export async function describeAnyGroups(admin: Admin, ids: readonly string[]): Promise<Map<string, Group>> {
  const described = new Map<string, Group>();
  if (ids.length === 0) return described;
  // No retries of its own: the Admin's (FindCoordinator) apply, as to its describeGroups.
  const raw = await describeRaw(admin, [...new Set(ids)]);
  const consumers: string[] = [];
  for (const group of raw) {
    described.set(group.groupId, {
      id: group.groupId,
      state: group.groupState as Group['state'],
      protocolType: group.protocolType,
      protocol: group.protocolData,
      authorizedOperations: group.authorizedOperations,
      members: new Map(
        group.members.map((member): [string, GroupMember] => [
          member.memberId,
          {
            id: member.memberId,
            groupInstanceId: member.groupInstanceId,
            clientId: member.clientId,
            clientHost: member.clientHost,
          },
        ]),
      ),
    });
    if (group.members.length > 0 && isConsumerProtocolType(group.protocolType)) consumers.push(group.groupId);
  }
  if (consumers.length > 0) {
    // Members of a group never change its protocol type: a group holding members as a consumer group
    // a moment ago can only have emptied (and shows fewer members) by now.
    for (const [id, group] of await admin.describeGroups({ groups: consumers }))
      if (isConsumerProtocolType(group.protocolType)) described.set(id, group);
  }
  return described;
}

async function describeRaw(
  admin: Admin,
  ids: string[],
): Promise<describeGroupsV5.DescribeGroupsResponseGroup[]> {
  const coordinators = await admin.findCoordinator({ keyType: COORDINATOR_KEY_GROUP, keys: ids });
  const byNode = new Map<number, { host: string; port: number; groups: string[] }>();
  for (const coordinator of coordinators) {
    const node = byNode.get(coordinator.nodeId) ?? {
      host: coordinator.host,
      port: coordinator.port,
      groups: [],
    };
    node.groups.push(coordinator.key);
    byNode.set(coordinator.nodeId, node);
  }
  const answers = await Promise.all(
    [...byNode.values()].map(async (node) => {
      const connection = await admin.connections.get({ host: node.host, port: node.port });
      return (await describeGroupsV5.api.async(connection, node.groups, false)).groups;
    }),
  );
  return answers.flat();
}
