/**
 * Raw requests for the coordinator tests that speak the protocol themselves (as Kafka's answers are
 * compared code by code): a client to one broker port, a request with the schema's defaults for every
 * field not given, and InitProducerId for a transactional id.
 */
import assert from 'node:assert/strict';
import { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { apis, defaultStruct, type MessageValue } from '../../src/protocol/index.ts';

/** A client of the broker on 127.0.0.1:`port`. */
export function clientTo(port: number, name: string): ControllerClient {
  return new ControllerClient(() => ({ nodeId: port, host: '127.0.0.1', port }), name);
}

/** One request over the client with the schema's defaults for every field not given. */
export function send(
  client: ControllerClient,
  apiKey: number,
  version: number,
  body: MessageValue,
): Promise<MessageValue> {
  const api = apis.get(apiKey);
  assert.ok(api !== undefined, `API ${apiKey}`);
  return client.request(apiKey, version, { ...defaultStruct(api.request), ...body });
}

/** InitProducerId v5 for `transactionalId` (60 s timeout): the answer, or undefined on an error code. */
export async function initProducerId(
  client: ControllerClient,
  transactionalId: string,
): Promise<MessageValue | undefined> {
  const answer = await send(client, 22, 5, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  return answer.errorCode === ErrorCode.NONE ? answer : undefined;
}

/** AddPartitionsToTxn v3 (the client's form) of one partition; asserts the coordinator added it. */
export async function addPartitionToTxn(
  client: ControllerClient,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topic: string,
  partition: number,
): Promise<void> {
  const added = await send(client, 24, 3, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producerId,
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions: [partition] }],
  });
  const results = added.resultsByTopicV3AndBelow as {
    resultsByPartition: { partitionErrorCode: number }[];
  }[];
  assert.equal(results[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.NONE, 'AddPartitionsToTxn');
}
