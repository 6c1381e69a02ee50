import {
  type DeleteAclsRequestData,
  type DeleteAclsResponseData,
  type Input,
  KafkaErrors,
  ProtocolError,
} from '../../protocol/index.ts';
import { ACLS, type AclBindingFilter, aclFilterProblem } from '../../security/acls.ts';
import { AUTHORIZER } from '../../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/**
 * DeleteAcls: per filter, the ACLs it matches (Kafka's filter semantics, MATCH included), all removed
 * with RemoveAccessControlEntryRecords in one append. A filter with UNKNOWN codes is malformed
 * (the connection is closed, as Kafka does); SECURITY_DISABLED without an authorizer.
 */
export const handler = defineHandler<DeleteAclsRequestData, Input<DeleteAclsResponseData>>({
  apiKey: 31,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
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
    for (const filter of filters) {
      const problem = aclFilterProblem(filter);
      // Kafka refuses such a request while parsing it: the connection is closed.
      if (problem !== null) throw new ProtocolError('MALFORMED', problem);
    }
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<DeleteAclsResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
    const deleted = store.delete(filters);
    // In a cluster the ACLs are gone once committed; a refused proposal fails every filter.
    const refused = await broker.takeMetadataWrite();
    return {
      throttleTimeMs: 0,
      filterResults: deleted.map((matched) => {
        if (refused !== null) return { ...refused, matchingAcls: [] };
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
