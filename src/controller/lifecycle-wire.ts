/**
 * The broker-to-controller APIs of a cluster, served on the controller listener: AlterPartition
 * (56), BrokerRegistration (62), BrokerHeartbeat (63), written from Kafka's message definitions.
 * Only kstack's own brokers send them, so they live here rather than in the protocol registry
 * (whose API list the broker listener serves and the protocol tests enumerate); each is flexible
 * in every version: request header v2, response header v1.
 */
import {
  array,
  decode,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeInto,
  encodeRequestHeader,
  encodeResponseHeader,
  field,
  type MessageSchema,
  type MessageValue,
  Reader,
  request,
  response,
  struct,
  Writer,
} from '../protocol/index.ts';

export const ALTER_PARTITION_KEY = 56;
export const BROKER_REGISTRATION_KEY = 62;
export const BROKER_HEARTBEAT_KEY = 63;

/** Versions kstack's brokers send; the controller serves exactly these. */
export const ALTER_PARTITION_VERSION = 3;
export const BROKER_REGISTRATION_VERSION = 4;
export const BROKER_HEARTBEAT_VERSION = 1;

export const AlterPartitionRequest = request(ALTER_PARTITION_KEY, 'AlterPartitionRequest', '0-3', '0+', [
  field('brokerId', 'int32', '0+'),
  field('brokerEpoch', 'int64', '0+', { default: -1n }),
  field(
    'topics',
    array(
      struct('TopicData', [
        field('topicName', 'string', '0-1'),
        field('topicId', 'uuid', '2+'),
        field(
          'partitions',
          array(
            struct('PartitionData', [
              field('partitionIndex', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+'),
              field('newIsr', array('int32'), '0-2'),
              field(
                'newIsrWithEpochs',
                array(
                  struct('BrokerState', [
                    field('brokerId', 'int32', '3+'),
                    field('brokerEpoch', 'int64', '3+', { default: -1n }),
                  ]),
                ),
                '3+',
              ),
              field('leaderRecoveryState', 'int8', '1+'),
              field('partitionEpoch', 'int32', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const AlterPartitionResponse = response(ALTER_PARTITION_KEY, 'AlterPartitionResponse', '0-3', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field(
    'topics',
    array(
      struct('TopicData', [
        field('topicName', 'string', '0-1'),
        field('topicId', 'uuid', '2+'),
        field(
          'partitions',
          array(
            struct('PartitionData', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('leaderId', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+'),
              field('isr', array('int32'), '0+'),
              field('leaderRecoveryState', 'int8', '1+'),
              field('partitionEpoch', 'int32', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const BrokerRegistrationRequest = request(
  BROKER_REGISTRATION_KEY,
  'BrokerRegistrationRequest',
  '0-4',
  '0+',
  [
    field('brokerId', 'int32', '0+'),
    field('clusterId', 'string', '0+'),
    field('incarnationId', 'uuid', '0+'),
    field(
      'listeners',
      array(
        struct('Listener', [
          field('name', 'string', '0+'),
          field('host', 'string', '0+'),
          field('port', 'uint16', '0+'),
          field('securityProtocol', 'int16', '0+'),
        ]),
      ),
      '0+',
    ),
    field(
      'features',
      array(
        struct('Feature', [
          field('name', 'string', '0+'),
          field('minSupportedVersion', 'int16', '0+'),
          field('maxSupportedVersion', 'int16', '0+'),
        ]),
      ),
      '0+',
    ),
    field('rack', 'string', '0+', { nullable: '0+', default: null }),
    field('isMigratingZkBroker', 'bool', '1+'),
    field('logDirs', array('uuid'), '2+'),
    field('previousBrokerEpoch', 'int64', '3+', { default: -1n }),
  ],
);

export const BrokerRegistrationResponse = response(
  BROKER_REGISTRATION_KEY,
  'BrokerRegistrationResponse',
  '0-4',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('brokerEpoch', 'int64', '0+', { default: -1n }),
  ],
);

export const BrokerHeartbeatRequest = request(BROKER_HEARTBEAT_KEY, 'BrokerHeartbeatRequest', '0-1', '0+', [
  field('brokerId', 'int32', '0+'),
  field('brokerEpoch', 'int64', '0+', { default: -1n }),
  field('currentMetadataOffset', 'int64', '0+'),
  field('wantFence', 'bool', '0+'),
  field('wantShutDown', 'bool', '0+'),
  field('offlineLogDirs', array('uuid'), '1+', { tag: 0 }),
]);

export const BrokerHeartbeatResponse = response(
  BROKER_HEARTBEAT_KEY,
  'BrokerHeartbeatResponse',
  '0-1',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('isCaughtUp', 'bool', '0+'),
    field('isFenced', 'bool', '0+', { default: true }),
    field('shouldShutDown', 'bool', '0+'),
  ],
);

export interface LifecycleApi {
  readonly request: MessageSchema;
  readonly response: MessageSchema;
}

export const LIFECYCLE_APIS: ReadonlyMap<number, LifecycleApi> = new Map([
  [ALTER_PARTITION_KEY, { request: AlterPartitionRequest, response: AlterPartitionResponse }],
  [BROKER_REGISTRATION_KEY, { request: BrokerRegistrationRequest, response: BrokerRegistrationResponse }],
  [BROKER_HEARTBEAT_KEY, { request: BrokerHeartbeatRequest, response: BrokerHeartbeatResponse }],
]);

function apiOf(apiKey: number): LifecycleApi {
  const api = LIFECYCLE_APIS.get(apiKey);
  if (api === undefined) throw new Error(`API key ${apiKey} is not a broker lifecycle API`);
  return api;
}

/** A request frame with its size prefix (header v2). */
export function encodeLifecycleRequest(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string,
  body: MessageValue,
): Uint8Array {
  const writer = new Writer();
  writer.int32(0);
  encodeRequestHeader(
    writer,
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId },
    2,
  );
  encodeInto(apiOf(apiKey).request, apiVersion, body, writer);
  writer.view.setInt32(0, writer.offset - 4);
  return writer.slice(0, writer.offset);
}

/** A request frame (no size prefix) → its client id and body. */
export function decodeLifecycleRequest(frame: Uint8Array): { clientId: string | null; body: MessageValue } {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader, 2);
  return {
    clientId: header.clientId,
    body: decode(apiOf(header.requestApiKey).request, header.requestApiVersion, reader),
  };
}

/** A response frame with its size prefix (header v1). */
export function encodeLifecycleResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: MessageValue,
): Uint8Array {
  const writer = new Writer();
  writer.int32(0);
  encodeResponseHeader(writer, correlationId, 1);
  encodeInto(apiOf(apiKey).response, apiVersion, body, writer);
  writer.view.setInt32(0, writer.offset - 4);
  return writer.slice(0, writer.offset);
}

/** A response frame (no size prefix) → its correlation id and body. */
export function decodeLifecycleResponse(
  apiKey: number,
  apiVersion: number,
  frame: Uint8Array,
): { correlationId: number; body: MessageValue } {
  const reader = new Reader(frame);
  const { correlationId } = decodeResponseHeader(reader, 1);
  return { correlationId, body: decode(apiOf(apiKey).response, apiVersion, reader) };
}
