import { array, field, request, response, struct } from '../schema.ts';

// DescribeCluster (API key 60), written from Kafka's DescribeClusterRequest/DescribeClusterResponse message definitions.

export const DescribeClusterRequest = request(60, 'DescribeClusterRequest', '0-1', '0+', [
  field('includeClusterAuthorizedOperations', 'bool', '0+'),
  field('endpointType', 'int8', '1+', { default: 1 }),
]);

export const DescribeClusterResponse = response(60, 'DescribeClusterResponse', '0-1', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  field('endpointType', 'int8', '1+', { default: 1 }),
  field('clusterId', 'string', '0+'),
  field('controllerId', 'int32', '0+', { default: -1 }),
  field(
    'brokers',
    array(
      struct('DescribeClusterBroker', [
        field('brokerId', 'int32', '0+'),
        field('host', 'string', '0+'),
        field('port', 'int32', '0+'),
        field('rack', 'string', '0+', { nullable: '0+', default: null }),
      ]),
    ),
    '0+',
  ),
  field('clusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
]);

/** A decoded DescribeClusterRequest (every version's fields; absent ones hold their default). */
export type DescribeClusterRequestData = {
  includeClusterAuthorizedOperations: boolean;
  endpointType: number;
};

/** A decoded DescribeClusterResponse (every version's fields; absent ones hold their default). */
export type DescribeClusterResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  endpointType: number;
  clusterId: string;
  controllerId: number;
  brokers: {
    brokerId: number;
    host: string;
    port: number;
    rack: string | null;
  }[];
  clusterAuthorizedOperations: number;
};
