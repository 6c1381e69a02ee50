import {
  type AlterUserScramCredentialsRequestData,
  type AlterUserScramCredentialsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { credentialFromSaltedPassword } from '../../security/scram.ts';
import {
  iterationsProblem,
  mechanismByType,
  SCRAM_CREDENTIALS,
  type ScramMetadataRecord,
} from '../../security/scram-store.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

type Result = AlterUserScramCredentialsResponseData['results'][number];

/**
 * AlterUserScramCredentials: deletions and upsertions of SCRAM credentials, checked per user as
 * Kafka's controller checks them, then written as UserScramCredentialRecord /
 * RemoveUserScramCredentialRecord to the metadata log in one append. The client sends a salted
 * password; the broker keeps only StoredKey and ServerKey derived from it.
 */
export const handler = defineHandler<
  AlterUserScramCredentialsRequestData,
  Input<AlterUserScramCredentialsResponseData>
>({
  apiKey: 51,
  name: 'AlterUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<AlterUserScramCredentialsResponseData>>(
      context,
      request,
    );
    if (forwarded !== undefined) return forwarded;
    const store = context.broker.slots.get(SCRAM_CREDENTIALS);
    // One change per user in a request, whatever the mechanism: Kafka's controller refuses the rest.
    const counts = new Map<string, number>();
    for (const { name } of [...request.deletions, ...request.upsertions]) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const results: Result[] = [];
    const records: ScramMetadataRecord[] = [];
    const fail = (user: string, error: { code: number }, message: string): void => {
      results.push({ user, errorCode: error.code, errorMessage: message });
    };
    const checkUser = (name: string, type: number) => {
      if (name === '') return fail(name, KafkaErrors.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      if ((counts.get(name) ?? 0) > 1) {
        return fail(
          name,
          KafkaErrors.DUPLICATE_RESOURCE,
          'A user credential cannot be altered twice in the same request',
        );
      }
      const mechanism = mechanismByType(type);
      if (mechanism === undefined)
        return fail(name, KafkaErrors.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      if (store === undefined)
        return fail(name, KafkaErrors.UNKNOWN_SERVER_ERROR, 'SCRAM credentials are not loaded');
      return mechanism;
    };
    for (const deletion of request.deletions) {
      const mechanism = checkUser(deletion.name, deletion.mechanism);
      if (mechanism === undefined) continue;
      if (store?.get(deletion.name, mechanism) === undefined) {
        fail(
          deletion.name,
          KafkaErrors.RESOURCE_NOT_FOUND,
          'Attempt to delete a user credential that does not exist',
        );
        continue;
      }
      records.push({
        type: 'RemoveUserScramCredentialRecord',
        name: deletion.name,
        mechanism: deletion.mechanism,
      });
      results.push({ user: deletion.name, errorCode: 0, errorMessage: null });
    }
    for (const upsertion of request.upsertions) {
      const mechanism = checkUser(upsertion.name, upsertion.mechanism);
      if (mechanism === undefined) continue;
      const problem = iterationsProblem(mechanism, upsertion.iterations);
      if (problem !== null) {
        fail(upsertion.name, KafkaErrors.UNACCEPTABLE_CREDENTIAL, problem);
        continue;
      }
      if (upsertion.salt.length === 0 || upsertion.saltedPassword.length === 0) {
        fail(
          upsertion.name,
          KafkaErrors.UNACCEPTABLE_CREDENTIAL,
          'Salt and salted password must not be empty',
        );
        continue;
      }
      const credential = credentialFromSaltedPassword(
        mechanism,
        upsertion.salt,
        upsertion.iterations,
        upsertion.saltedPassword,
      );
      records.push({
        type: 'UserScramCredentialRecord',
        name: upsertion.name,
        mechanism: upsertion.mechanism,
        salt: Buffer.from(credential.salt).toString('base64'),
        storedKey: Buffer.from(credential.storedKey).toString('base64'),
        serverKey: Buffer.from(credential.serverKey).toString('base64'),
        iterations: upsertion.iterations,
      });
      results.push({ user: upsertion.name, errorCode: 0, errorMessage: null });
    }
    store?.commit(records);
    // In a cluster the credentials count once committed; a refused proposal fails every change it held.
    const refused = await broker.takeMetadataWrite();
    return {
      throttleTimeMs: 0,
      results: results.map((r) => (r.errorCode === 0 && refused !== null ? { user: r.user, ...refused } : r)),
    };
  },
});
