import {
  type DescribeClusterRequestData,
  type DescribeClusterResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../handler-support.ts';

const ENDPOINT_TYPE_BROKERS = 1;

/** DescribeCluster: cluster id, controller and brokers (endpoint type 1; controllers are not exposed). */
export const handler = defineHandler<DescribeClusterRequestData, Input<DescribeClusterResponseData>>({
  apiKey: 60,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const image = context.broker.metadata();
    const base = {
      throttleTimeMs: 0,
      endpointType: request.endpointType,
      clusterId: image.clusterId,
      controllerId: image.controllerId,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
    if (request.endpointType !== ENDPOINT_TYPE_BROKERS) {
      return {
        ...base,
        errorCode: KafkaErrors.UNSUPPORTED_ENDPOINT_TYPE.code,
        errorMessage: 'Only brokers (endpoint type 1) can be described.',
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: 0,
      errorMessage: null,
      brokers: image
        .aliveBrokers()
        .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    };
  },
});
