import {
  type CreateAclsRequestData,
  type CreateAclsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { ACLS } from '../../security/acls.ts';
import { AUTHORIZER } from '../../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';

/**
 * CreateAcls: each creation checked as Kafka's controller checks it (INVALID_REQUEST naming the
 * fault), the valid ones written as AccessControlEntryRecords in one append to the metadata log; an
 * ACL that exists already succeeds without a second record. SECURITY_DISABLED without an authorizer.
 */
export const handler = defineHandler<CreateAclsRequestData, Input<CreateAclsResponseData>>({
  apiKey: 30,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  handle(request, context) {
    const store = context.broker.slots.get(ACLS);
    if (context.broker.slots.get(AUTHORIZER) === undefined || store === undefined) {
      const result = {
        errorCode: KafkaErrors.SECURITY_DISABLED.code,
        errorMessage: 'No Authorizer is configured.',
      };
      return { throttleTimeMs: 0, results: request.creations.map(() => result) };
    }
    const outcomes = store.create(
      request.creations.map((creation) => ({
        resourceType: creation.resourceType,
        resourceName: creation.resourceName,
        patternType: creation.resourcePatternType,
        principal: creation.principal,
        host: creation.host,
        operation: creation.operation,
        permissionType: creation.permissionType,
      })),
    );
    return {
      throttleTimeMs: 0,
      results: outcomes.map((problem) =>
        problem === null
          ? { errorCode: 0, errorMessage: null }
          : { errorCode: KafkaErrors.INVALID_REQUEST.code, errorMessage: problem },
      ),
    };
  },
});
