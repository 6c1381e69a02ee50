import { array, field, request, response, struct } from '../schema.ts';

// DeleteGroups (API key 42), written from Kafka's DeleteGroupsRequest/DeleteGroupsResponse message definitions.

export const DeleteGroupsRequest = request(42, 'DeleteGroupsRequest', '0-2', '2+', [
  field('groupsNames', array('string'), '0+'),
]);

export const DeleteGroupsResponse = response(42, 'DeleteGroupsResponse', '0-2', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'results',
    array(
      struct('DeletableGroupResult', [field('groupId', 'string', '0+'), field('errorCode', 'int16', '0+')]),
    ),
    '0+',
  ),
]);

/** A decoded DeleteGroupsRequest (every version's fields; absent ones hold their default). */
export type DeleteGroupsRequestData = {
  groupsNames: string[];
};

/** A decoded DeleteGroupsResponse (every version's fields; absent ones hold their default). */
export type DeleteGroupsResponseData = {
  throttleTimeMs: number;
  results: {
    groupId: string;
    errorCode: number;
  }[];
};
