import { array, field, request, response, struct } from '../schema.ts';

// DescribeGroups (API key 15), written from Kafka's DescribeGroupsRequest/DescribeGroupsResponse message definitions
// (v6, KIP-1043: ErrorMessage, as Kafka 4.1.1's DescribeGroupsResponseData SCHEMA_6 has it).

export const DescribeGroupsRequest = request(15, 'DescribeGroupsRequest', '0-6', '5+', [
  field('groups', array('string'), '0+'),
  field('includeAuthorizedOperations', 'bool', '3+'),
]);

export const DescribeGroupsResponse = response(15, 'DescribeGroupsResponse', '0-6', '5+', [
  field('throttleTimeMs', 'int32', '1+'),
  field(
    'groups',
    array(
      struct('DescribedGroup', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '6+', { nullable: '6+', default: null }),
        field('groupId', 'string', '0+'),
        field('groupState', 'string', '0+'),
        field('protocolType', 'string', '0+'),
        field('protocolData', 'string', '0+'),
        field(
          'members',
          array(
            struct('DescribedGroupMember', [
              field('memberId', 'string', '0+'),
              field('groupInstanceId', 'string', '4+', { nullable: '4+', default: null }),
              field('clientId', 'string', '0+'),
              field('clientHost', 'string', '0+'),
              field('memberMetadata', 'bytes', '0+'),
              field('memberAssignment', 'bytes', '0+'),
            ]),
          ),
          '0+',
        ),
        field('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DescribeGroupsRequest (every version's fields; absent ones hold their default). */
export type DescribeGroupsRequestData = {
  groups: string[];
  includeAuthorizedOperations: boolean;
};

/** A decoded DescribeGroupsResponse (every version's fields; absent ones hold their default). */
export type DescribeGroupsResponseData = {
  throttleTimeMs: number;
  groups: {
    errorCode: number;
    errorMessage: string | null;
    groupId: string;
    groupState: string;
    protocolType: string;
    protocolData: string;
    members: {
      memberId: string;
      groupInstanceId: string | null;
      clientId: string;
      clientHost: string;
      memberMetadata: Uint8Array;
      memberAssignment: Uint8Array;
    }[];
    authorizedOperations: number;
  }[];
};
