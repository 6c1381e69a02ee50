import { array, field, request, response, struct } from '../schema.ts';

// FindCoordinator (API key 10), written from Kafka's FindCoordinatorRequest/FindCoordinatorResponse message definitions.

export const FindCoordinatorRequest = request(10, 'FindCoordinatorRequest', '0-6', '3+', [
  field('key', 'string', '0-3'),
  field('keyType', 'int8', '1+', { default: 0 }),
  field('coordinatorKeys', array('string'), '4+'),
]);

export const FindCoordinatorResponse = response(10, 'FindCoordinatorResponse', '0-6', '3+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0-3'),
  field('errorMessage', 'string', '1-3', { nullable: '1-3' }),
  field('nodeId', 'int32', '0-3'),
  field('host', 'string', '0-3'),
  field('port', 'int32', '0-3'),
  field(
    'coordinators',
    array(
      struct('Coordinator', [
        field('key', 'string', '4+'),
        field('nodeId', 'int32', '4+'),
        field('host', 'string', '4+'),
        field('port', 'int32', '4+'),
        field('errorCode', 'int16', '4+'),
        field('errorMessage', 'string', '4+', { nullable: '4+' }),
      ]),
    ),
    '4+',
  ),
]);

/** A decoded FindCoordinatorRequest (every version's fields; absent ones hold their default). */
export type FindCoordinatorRequestData = {
  key: string;
  keyType: number;
  coordinatorKeys: string[];
};

/** A decoded FindCoordinatorResponse (every version's fields; absent ones hold their default). */
export type FindCoordinatorResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
  coordinators: {
    key: string;
    nodeId: number;
    host: string;
    port: number;
    errorCode: number;
    errorMessage: string | null;
  }[];
};
