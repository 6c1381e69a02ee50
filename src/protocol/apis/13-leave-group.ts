import { array, field, request, response, struct } from '../schema.ts';

// LeaveGroup (API key 13), written from Kafka's LeaveGroupRequest/LeaveGroupResponse message definitions.

export const LeaveGroupRequest = request(13, 'LeaveGroupRequest', '0-5', '4+', [
  field('groupId', 'string', '0+'),
  field('memberId', 'string', '0-2'),
  field(
    'members',
    array(
      struct('MemberIdentity', [
        field('memberId', 'string', '3+'),
        field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
        field('reason', 'string', '5+', { nullable: '5+', default: null }),
      ]),
    ),
    '3+',
  ),
]);

export const LeaveGroupResponse = response(13, 'LeaveGroupResponse', '0-5', '4+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0+'),
  field(
    'members',
    array(
      struct('MemberResponse', [
        field('memberId', 'string', '3+'),
        field('groupInstanceId', 'string', '3+', { nullable: '3+' }),
        field('errorCode', 'int16', '3+'),
      ]),
    ),
    '3+',
  ),
]);

/** A decoded LeaveGroupRequest (every version's fields; absent ones hold their default). */
export type LeaveGroupRequestData = {
  groupId: string;
  memberId: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    reason: string | null;
  }[];
};

/** A decoded LeaveGroupResponse (every version's fields; absent ones hold their default). */
export type LeaveGroupResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    errorCode: number;
  }[];
};
