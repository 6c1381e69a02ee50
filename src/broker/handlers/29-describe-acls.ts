import {
  type DescribeAclsRequestData,
  type DescribeAclsResponseData,
  type Input,
  KafkaErrors,
  ProtocolError,
} from '../../protocol/index.ts';
import { ACLS, aclFilterProblem } from '../../security/acls.ts';
import { AUTHORIZER } from '../../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

type Resource = DescribeAclsResponseData['resources'][number];

/**
 * DescribeAcls: the ACLs one binding filter matches, grouped by resource pattern as Kafka answers.
 * Without an authorizer (`authorizer.class.name` empty) SECURITY_DISABLED, as Kafka; a filter with
 * UNKNOWN codes is malformed (the connection is closed, as Kafka does). Who may ask (DESCRIBE on the cluster) is checked before this runs
 * (src/security/request-authorization.ts).
 */
export const handler = defineHandler<DescribeAclsRequestData, Input<DescribeAclsResponseData>>({
  apiKey: 29,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 3,
  handle(request, context) {
    const store = context.broker.slots.get(ACLS);
    if (context.broker.slots.get(AUTHORIZER) === undefined || store === undefined) {
      const { code } = KafkaErrors.SECURITY_DISABLED;
      return {
        throttleTimeMs: 0,
        errorCode: code,
        errorMessage: 'No Authorizer is configured.',
        resources: [],
      };
    }
    const filter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const problem = aclFilterProblem(filter);
    // Kafka refuses such a request while parsing it: the connection is closed.
    if (problem !== null) throw new ProtocolError('MALFORMED', problem);
    const byPattern = new Map<string, Resource>();
    for (const acl of store.describe(filter)) {
      const key = `${acl.resourceType}\0${acl.patternType}\0${acl.resourceName}`;
      let resource = byPattern.get(key);
      if (resource === undefined) {
        resource = {
          resourceType: acl.resourceType,
          resourceName: acl.resourceName,
          patternType: acl.patternType,
          acls: [],
        };
        byPattern.set(key, resource);
      }
      resource.acls.push({
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation,
        permissionType: acl.permissionType,
      });
    }
    // Kafka answers an empty message, not null, when nothing failed.
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: '', resources: [...byPattern.values()] };
  },
});
