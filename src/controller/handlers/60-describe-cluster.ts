import type { ControllerHandler } from '../handler.ts';

/** DescribeCluster's endpoint types (KIP-919): 1 brokers, 2 controllers. */
const ENDPOINT_TYPE_CONTROLLER = 2;
const MISMATCHED_ENDPOINT_TYPE = 114;

/**
 * DescribeCluster on the controller listener (KIP-919, what `--bootstrap-controller` tools send
 * first): the voters with their controller addresses, and the active controller (-1 while none).
 */
export const handler: ControllerHandler = {
  apiKey: 60,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const { driver } = context.node;
    const endpointType = request.endpointType as number;
    if (endpointType !== ENDPOINT_TYPE_CONTROLLER) {
      return {
        throttleTimeMs: 0,
        errorCode: MISMATCHED_ENDPOINT_TYPE,
        errorMessage: `node ${driver.nodeId}'s controller listener describes controllers (endpoint type 2), not endpoint type ${endpointType}`,
        endpointType,
        clusterId: driver.clusterId,
        controllerId: -1,
        brokers: [],
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType,
      clusterId: driver.clusterId,
      controllerId: driver.leader().leaderId,
      brokers: driver.voters.map((voter) => ({
        brokerId: voter.nodeId,
        host: voter.host,
        port: voter.port,
        rack: null,
      })),
    };
  },
};
