/**
 * Which listed groups are consumer groups, for the tools that describe them (the exporter, the REST
 * proxy, the UI). Kafka's own Admin.listConsumerGroups keeps the groups whose protocol type is
 * `consumer` or empty (offsets committed without membership); other protocol types are other
 * clients' groups: a Schema Registry's `sr`, Kafka Connect's `connect`. They must be left out, not
 * only for Kafka's sake: @platformatic/kafka 2.12.1's Admin.describeGroups decodes every member as a
 * consumer and throws, uncaught in a socket callback, on any other group, which ends the process.
 */

/** The protocol types of consumer groups, as Kafka's ConsumerProtocol and listConsumerGroups. */
const CONSUMER_PROTOCOL_TYPES: ReadonlySet<string> = new Set(['consumer', '']);

/** The ids of the consumer groups among listed groups (ListGroups answers), sorted. */
export function consumerGroupIds(listed: ReadonlyMap<string, { protocolType: string }>): string[] {
  return [...listed]
    .filter(([, group]) => CONSUMER_PROTOCOL_TYPES.has(group.protocolType))
    .map(([id]) => id)
    .sort();
}
