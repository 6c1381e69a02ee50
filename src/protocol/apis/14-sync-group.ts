import { array, field, request, response, struct } from '../schema.ts';

// SyncGroup (API key 14), written from Kafka's SyncGroupRequest/SyncGroupResponse message definitions.

export const SyncGroupRequest = request(14, 'SyncGroupRequest', '0-5', '4+', [
  field('groupId', 'string', '0+'),
  field('generationId', 'int32', '0+'),
  field('memberId', 'string', '0+'),
  field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  field(
    'assignments',
    array(
      struct('SyncGroupRequestAssignment', [
        field('memberId', 'string', '0+'),
        field('assignment', 'bytes', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const SyncGroupResponse = response(14, 'SyncGroupResponse', '0-5', '4+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0+'),
  field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  field('assignment', 'bytes', '0+'),
]);

/** A decoded SyncGroupRequest (every version's fields; absent ones hold their default). */
export type SyncGroupRequestData = {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: {
    memberId: string;
    assignment: Uint8Array;
  }[];
};

/** A decoded SyncGroupResponse (every version's fields; absent ones hold their default). */
export type SyncGroupResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
};
