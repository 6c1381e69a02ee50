import { array, field, request, response, struct } from '../schema.ts';

// DeleteAcls (API key 31), written from Kafka's DeleteAclsRequest/Response message definitions.

export const DeleteAclsRequest = request(31, 'DeleteAclsRequest', '0-3', '2+', [
  field(
    'filters',
    array(
      struct('DeleteAclsFilter', [
        field('resourceTypeFilter', 'int8', '0+'),
        field('resourceNameFilter', 'string', '0+', { nullable: '0+' }),
        field('patternTypeFilter', 'int8', '1+', { default: 3 }),
        field('principalFilter', 'string', '0+', { nullable: '0+' }),
        field('hostFilter', 'string', '0+', { nullable: '0+' }),
        field('operation', 'int8', '0+'),
        field('permissionType', 'int8', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const DeleteAclsResponse = response(31, 'DeleteAclsResponse', '0-3', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'filterResults',
    array(
      struct('DeleteAclsFilterResult', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        field(
          'matchingAcls',
          array(
            struct('DeleteAclsMatchingAcl', [
              field('errorCode', 'int16', '0+'),
              field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
              field('resourceType', 'int8', '0+'),
              field('resourceName', 'string', '0+'),
              field('patternType', 'int8', '1+', { default: 3 }),
              field('principal', 'string', '0+'),
              field('host', 'string', '0+'),
              field('operation', 'int8', '0+'),
              field('permissionType', 'int8', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** One filter of a DeleteAclsRequest (the same fields as a DescribeAclsRequest). */
export type DeleteAclsFilterData = {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
};

/** A decoded DeleteAclsRequest. */
export type DeleteAclsRequestData = { filters: DeleteAclsFilterData[] };

/** A decoded DeleteAclsResponse. */
export type DeleteAclsResponseData = {
  throttleTimeMs: number;
  filterResults: {
    errorCode: number;
    errorMessage: string | null;
    matchingAcls: {
      errorCode: number;
      errorMessage: string | null;
      resourceType: number;
      resourceName: string;
      patternType: number;
      principal: string;
      host: string;
      operation: number;
      permissionType: number;
    }[];
  }[];
};
