import { array, field, request, response, struct } from '../schema.ts';

// CreateAcls (API key 30), written from Kafka's CreateAclsRequest/Response message definitions.

export const CreateAclsRequest = request(30, 'CreateAclsRequest', '0-3', '2+', [
  field(
    'creations',
    array(
      struct('AclCreation', [
        field('resourceType', 'int8', '0+'),
        field('resourceName', 'string', '0+'),
        field('resourcePatternType', 'int8', '1+', { default: 3 }),
        field('principal', 'string', '0+'),
        field('host', 'string', '0+'),
        field('operation', 'int8', '0+'),
        field('permissionType', 'int8', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const CreateAclsResponse = response(30, 'CreateAclsResponse', '0-3', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'results',
    array(
      struct('AclCreationResult', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded CreateAclsRequest. */
export type CreateAclsRequestData = {
  creations: {
    resourceType: number;
    resourceName: string;
    resourcePatternType: number;
    principal: string;
    host: string;
    operation: number;
    permissionType: number;
  }[];
};

/** A decoded CreateAclsResponse. */
export type CreateAclsResponseData = {
  throttleTimeMs: number;
  results: { errorCode: number; errorMessage: string | null }[];
};
