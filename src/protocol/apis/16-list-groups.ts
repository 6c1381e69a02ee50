import { array, field, request, response, struct } from '../schema.ts';

// ListGroups (API key 16), written from Kafka's ListGroupsRequest/ListGroupsResponse message definitions.

export const ListGroupsRequest = request(16, 'ListGroupsRequest', '0-5', '3+', [
  field('statesFilter', array('string'), '4+'),
  field('typesFilter', array('string'), '5+'),
]);

export const ListGroupsResponse = response(16, 'ListGroupsResponse', '0-5', '3+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0+'),
  field(
    'groups',
    array(
      struct('ListedGroup', [
        field('groupId', 'string', '0+'),
        field('protocolType', 'string', '0+'),
        field('groupState', 'string', '4+'),
        field('groupType', 'string', '5+'),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded ListGroupsRequest (every version's fields; absent ones hold their default). */
export type ListGroupsRequestData = {
  statesFilter: string[];
  typesFilter: string[];
};

/** A decoded ListGroupsResponse (every version's fields; absent ones hold their default). */
export type ListGroupsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  groups: {
    groupId: string;
    protocolType: string;
    groupState: string;
    groupType: string;
  }[];
};
