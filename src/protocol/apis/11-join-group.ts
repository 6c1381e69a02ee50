import { array, field, request, response, struct } from '../schema.ts';

// JoinGroup (API key 11), written from Kafka's JoinGroupRequest/JoinGroupResponse message definitions.

export const JoinGroupRequest = request(11, 'JoinGroupRequest', '0-9', '6+', [
  field('groupId', 'string', '0+'),
  field('sessionTimeoutMs', 'int32', '0+'),
  field('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
  field('memberId', 'string', '0+'),
  field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
  field('protocolType', 'string', '0+'),
  field(
    'protocols',
    array(
      struct('JoinGroupRequestProtocol', [field('name', 'string', '0+'), field('metadata', 'bytes', '0+')]),
    ),
    '0+',
  ),
  field('reason', 'string', '8+', { nullable: '8+', default: null }),
]);

export const JoinGroupResponse = response(11, 'JoinGroupResponse', '0-9', '6+', [
  field('throttleTimeMs', 'int32', '2+'),
  field('errorCode', 'int16', '0+'),
  field('generationId', 'int32', '0+', { default: -1 }),
  field('protocolType', 'string', '7+', { nullable: '7+', default: null }),
  field('protocolName', 'string', '0+', { nullable: '7+' }),
  field('leader', 'string', '0+'),
  field('skipAssignment', 'bool', '9+', { default: false }),
  field('memberId', 'string', '0+'),
  field(
    'members',
    array(
      struct('JoinGroupResponseMember', [
        field('memberId', 'string', '0+'),
        field('groupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
        field('metadata', 'bytes', '0+'),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded JoinGroupRequest (every version's fields; absent ones hold their default). */
export type JoinGroupRequestData = {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: {
    name: string;
    metadata: Uint8Array;
  }[];
  reason: string | null;
};

/** A decoded JoinGroupResponse (every version's fields; absent ones hold their default). */
export type JoinGroupResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    metadata: Uint8Array;
  }[];
};
