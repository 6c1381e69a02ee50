import {
  type CreateAclsRequestData,
  type CreateAclsResponseData,
  type Input,
  KafkaErrors,
  ProtocolError,
} from '../../protocol/index.ts';
import { ACLS } from '../../security/acls.ts';
import { AUTHORIZER } from '../../security/request-authorization.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/**
 * CreateAcls: each creation checked as Kafka 4.1.1's broker and controller check it (the codes and
 * messages are src/security/acls.ts's aclCreateRefusal), the valid ones written as AccessControlEntryRecords in one append to the metadata log; an
 * ACL that exists already succeeds without a second record. SECURITY_DISABLED without an authorizer.
 */
export const handler = defineHandler<CreateAclsRequestData, Input<CreateAclsResponseData>>({
  apiKey: 30,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
    const store = context.broker.slots.get(ACLS);
    if (context.broker.slots.get(AUTHORIZER) === undefined || store === undefined) {
      const result = {
        errorCode: KafkaErrors.SECURITY_DISABLED.code,
        errorMessage: 'No Authorizer is configured.',
      };
      return { throttleTimeMs: 0, results: request.creations.map(() => result) };
    }
    const unknown = request.creations.some(
      (c) =>
        c.resourceType === 0 || c.resourcePatternType === 0 || c.operation === 0 || c.permissionType === 0,
    );
    // Kafka refuses such a request while parsing it: the connection is closed.
    if (unknown)
      throw new ProtocolError('MALFORMED', 'You can not create ACL bindings with unknown elements');
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<CreateAclsResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
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
    // In a cluster the ACLs count once committed; a refused proposal fails every creation it held.
    const refused = await broker.takeMetadataWrite();
    return {
      throttleTimeMs: 0,
      // Kafka answers an empty message, not null, when nothing failed.
      results: outcomes.map((refusal) => refusal ?? refused ?? { errorCode: 0, errorMessage: '' }),
    };
  },
});
