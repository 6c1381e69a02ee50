import { array, field, request, response, struct } from '../schema.ts';

// Produce (API key 0), written from Kafka's ProduceRequest/ProduceResponse message definitions.
// Version 12 has the fields of 11: a producer in a transaction of transaction version 2 (KIP-890)
// sends it, and the partition's leader adds the partition to the transaction itself.
// Version 13 names topics by id instead of name, in the request and the response (KIP-516).

export const ProduceRequest = request(0, 'ProduceRequest', '0-13', '9+', [
  field('transactionalId', 'string', '3+', { nullable: '3+', default: null }),
  field('acks', 'int16', '0+'),
  field('timeoutMs', 'int32', '0+'),
  field(
    'topicData',
    array(
      struct('TopicProduceData', [
        field('name', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        field(
          'partitionData',
          array(
            struct('PartitionProduceData', [
              field('index', 'int32', '0+'),
              field('records', 'records', '0+', { nullable: '0+' }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const ProduceResponse = response(0, 'ProduceResponse', '0-13', '9+', [
  field(
    'responses',
    array(
      struct('TopicProduceResponse', [
        field('name', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        field(
          'partitionResponses',
          array(
            struct('PartitionProduceResponse', [
              field('index', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('baseOffset', 'int64', '0+'),
              field('logAppendTimeMs', 'int64', '2+', { default: -1n }),
              field('logStartOffset', 'int64', '5+', { default: -1n }),
              field(
                'recordErrors',
                array(
                  struct('BatchIndexAndErrorMessage', [
                    field('batchIndex', 'int32', '8+'),
                    field('batchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null }),
                  ]),
                ),
                '8+',
              ),
              field('errorMessage', 'string', '8+', { nullable: '8+', default: null }),
              field(
                'currentLeader',
                struct('LeaderIdAndEpoch', [
                  field('leaderId', 'int32', '10+', { default: -1 }),
                  field('leaderEpoch', 'int32', '10+', { default: -1 }),
                ]),
                '10+',
                { tag: 0 },
              ),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('throttleTimeMs', 'int32', '1+', { default: 0 }),
  field(
    'nodeEndpoints',
    array(
      struct('NodeEndpoint', [
        field('nodeId', 'int32', '10+'),
        field('host', 'string', '10+'),
        field('port', 'int32', '10+'),
        field('rack', 'string', '10+', { nullable: '10+', default: null }),
      ]),
    ),
    '10+',
    { tag: 0 },
  ),
]);

/** A decoded ProduceRequest (every version's fields; absent ones hold their default). */
export type ProduceRequestData = {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: {
    name: string;
    topicId: string;
    partitionData: {
      index: number;
      records: Uint8Array | null;
    }[];
  }[];
};

/** A decoded ProduceResponse (every version's fields; absent ones hold their default). */
export type ProduceResponseData = {
  responses: {
    name: string;
    topicId: string;
    partitionResponses: {
      index: number;
      errorCode: number;
      baseOffset: bigint;
      logAppendTimeMs: bigint;
      logStartOffset: bigint;
      recordErrors: {
        batchIndex: number;
        batchIndexErrorMessage: string | null;
      }[];
      errorMessage: string | null;
      currentLeader: {
        leaderId: number;
        leaderEpoch: number;
      };
    }[];
  }[];
  throttleTimeMs: number;
  nodeEndpoints: {
    nodeId: number;
    host: string;
    port: number;
    rack: string | null;
  }[];
};
