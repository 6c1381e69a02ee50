import { array, field, request, response, struct } from '../schema.ts';

// WriteTxnMarkers (API key 27), written from Kafka's WriteTxnMarkersRequest/WriteTxnMarkersResponse
// message definitions: the transaction coordinator asks each partition leader to append commit or abort markers.

export const WriteTxnMarkersRequest = request(27, 'WriteTxnMarkersRequest', '0-1', '1+', [
  field(
    'markers',
    array(
      struct('WritableTxnMarker', [
        field('producerId', 'int64', '0+'),
        field('producerEpoch', 'int16', '0+'),
        field('transactionResult', 'bool', '0+'),
        field(
          'topics',
          array(
            struct('WritableTxnMarkerTopic', [
              field('name', 'string', '0+'),
              field('partitionIndexes', array('int32'), '0+'),
            ]),
          ),
          '0+',
        ),
        field('coordinatorEpoch', 'int32', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const WriteTxnMarkersResponse = response(27, 'WriteTxnMarkersResponse', '0-1', '1+', [
  field(
    'markers',
    array(
      struct('WritableTxnMarkerResult', [
        field('producerId', 'int64', '0+'),
        field(
          'topics',
          array(
            struct('WritableTxnMarkerTopicResult', [
              field('name', 'string', '0+'),
              field(
                'partitions',
                array(
                  struct('WritableTxnMarkerPartitionResult', [
                    field('partitionIndex', 'int32', '0+'),
                    field('errorCode', 'int16', '0+'),
                  ]),
                ),
                '0+',
              ),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded WriteTxnMarkersRequest. */
export type WriteTxnMarkersRequestData = {
  markers: {
    producerId: bigint;
    producerEpoch: number;
    transactionResult: boolean;
    topics: { name: string; partitionIndexes: number[] }[];
    coordinatorEpoch: number;
  }[];
};

/** A decoded WriteTxnMarkersResponse. */
export type WriteTxnMarkersResponseData = {
  markers: {
    producerId: bigint;
    topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
  }[];
};
