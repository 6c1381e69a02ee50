import { array, field, request, response, struct } from '../schema.ts';

// DescribeAcls (API key 29), written from Kafka's DescribeAclsRequest/Response message definitions.
// Version 0 has no pattern type: it reads and answers LITERAL (3) patterns.

export const DescribeAclsRequest = request(29, 'DescribeAclsRequest', '0-3', '2+', [
  field('resourceTypeFilter', 'int8', '0+'),
  field('resourceNameFilter', 'string', '0+', { nullable: '0+' }),
  field('patternTypeFilter', 'int8', '1+', { default: 3 }),
  field('principalFilter', 'string', '0+', { nullable: '0+' }),
  field('hostFilter', 'string', '0+', { nullable: '0+' }),
  field('operation', 'int8', '0+'),
  field('permissionType', 'int8', '0+'),
]);

export const DescribeAclsResponse = response(29, 'DescribeAclsResponse', '0-3', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  field(
    'resources',
    array(
      struct('DescribeAclsResource', [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field('patternType', 'int8', '1+', { default: 3 }),
        field(
          'acls',
          array(
            struct('AclDescription', [
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

/** A decoded DescribeAclsRequest (one ACL binding filter). */
export type DescribeAclsRequestData = {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
};

/** A decoded DescribeAclsResponse. */
export type DescribeAclsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  resources: {
    resourceType: number;
    resourceName: string;
    patternType: number;
    acls: { principal: string; host: string; operation: number; permissionType: number }[];
  }[];
};
