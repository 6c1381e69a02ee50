import {
  type DescribeUserScramCredentialsRequestData,
  type DescribeUserScramCredentialsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { SCRAM_CREDENTIALS } from '../../security/scram-store.ts';
import { defineHandler } from '../handler.ts';

type Result = DescribeUserScramCredentialsResponseData['results'][number];

/**
 * DescribeUserScramCredentials: each user's mechanisms and iterations (never salts or keys), from
 * the credentials replayed from the metadata log. Null or empty asks for every user; a named user
 * without credentials is RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE, as Kafka answers.
 */
export const handler = defineHandler<
  DescribeUserScramCredentialsRequestData,
  Input<DescribeUserScramCredentialsResponseData>
>({
  apiKey: 50,
  name: 'DescribeUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const store = context.broker.slots.get(SCRAM_CREDENTIALS);
    const ok = (user: string): Result => ({
      user,
      errorCode: 0,
      // Kafka answers an empty message, not null, where nothing failed.
      errorMessage: '',
      credentialInfos: store?.describe(user) ?? [],
    });
    if (request.users === null || request.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: '', results: (store?.users() ?? []).map(ok) };
    }
    const counts = new Map<string, number>();
    for (const { name } of request.users) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results: Result[] = [];
    const answered = new Set<string>();
    for (const { name } of request.users) {
      if (answered.has(name)) continue;
      answered.add(name);
      if (counts.get(name)! > 1) {
        results.push({
          user: name,
          errorCode: KafkaErrors.DUPLICATE_RESOURCE.code,
          errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${name}`,
          credentialInfos: [],
        });
      } else if ((store?.describe(name).length ?? 0) === 0) {
        results.push({
          user: name,
          errorCode: KafkaErrors.RESOURCE_NOT_FOUND.code,
          errorMessage: `Attempt to describe a user credential that does not exist: ${name}`,
          credentialInfos: [],
        });
      } else {
        results.push(ok(name));
      }
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: '', results };
  },
});
