import {
  type DeleteAclsRequestData,
  type DeleteAclsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { ACLS, type AclBindingFilter, aclFilterProblem } from '../../security/acls.ts';
import { AUTHORIZER } from '../../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

/**
 * DeleteAcls: per filter, the ACLs it matches (Kafka's filter semantics, MATCH included), all removed
 * with RemoveAccessControlEntryRecords in one append. A filter with UNKNOWN codes answers
 * INVALID_REQUEST; SECURITY_DISABLED without an authorizer.
 */
export const handler = defineHandler<DeleteAclsRequestData, Input<DeleteAclsResponseData>>({
  apiKey: 31,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  handle(request, context) {
    const store = context.broker.slots.get(ACLS);
    if (context.broker.slots.get(AUTHORIZER) === undefined || store === undefined) {
      const { code } = KafkaErrors.SECURITY_DISABLED;
      return {
        throttleTimeMs: 0,
        filterResults: request.filters.map(() => ({
          errorCode: code,
          errorMessage: 'No Authorizer is configured.',
          matchingAcls: [],
        })),
      };
    }
    const filters: AclBindingFilter[] = request.filters.map((filter) => ({
      resourceType: filter.resourceTypeFilter,
      resourceName: filter.resourceNameFilter,
      patternType: filter.patternTypeFilter,
      principal: filter.principalFilter,
      host: filter.hostFilter,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }));
    const problems = filters.map(aclFilterProblem);
    const matches = store.delete(filters.filter((_, index) => problems[index] === null));
    let next = 0;
    return {
      throttleTimeMs: 0,
      filterResults: problems.map((problem) => {
        if (problem !== null) {
          return { errorCode: KafkaErrors.INVALID_REQUEST.code, errorMessage: problem, matchingAcls: [] };
        }
        const matched = matches[next++] ?? [];
        return {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: matched.map((acl) => ({
            errorCode: 0,
            errorMessage: null,
            resourceType: acl.resourceType,
            resourceName: acl.resourceName,
            patternType: acl.patternType,
            principal: acl.principal,
            host: acl.host,
            operation: acl.operation,
            permissionType: acl.permissionType,
          })),
        };
      }),
    };
  },
});
