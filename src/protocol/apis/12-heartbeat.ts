import { field, request, response } from '../schema.ts';

// Heartbeat (API key 12), written from Kafka's HeartbeatRequest/HeartbeatResponse message definitions.

export const HeartbeatRequest = request(12, 'HeartbeatRequest', '0-4', '4+', [
  field('groupId', 'string', '0+'),
  field('generationId', 'int32', '0+'),
  field('memberId', 'string', '0+'),
  field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
]);

export const HeartbeatResponse = response(12, 'HeartbeatResponse', '0-4', '4+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0+'),
]);

/** A decoded HeartbeatRequest (every version's fields; absent ones hold their default). */
export type HeartbeatRequestData = {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
};

/** A decoded HeartbeatResponse (every version's fields; absent ones hold their default). */
export type HeartbeatResponseData = {
  throttleTimeMs: number;
  errorCode: number;
};
