import { array, field, request, response, struct } from '../schema.ts';

// AlterUserScramCredentials (API key 51), written from Kafka's AlterUserScramCredentialsRequest/Response message definitions.

export const AlterUserScramCredentialsRequest = request(51, 'AlterUserScramCredentialsRequest', '0', '0+', [
  field(
    'deletions',
    array(
      struct('ScramCredentialDeletion', [field('name', 'string', '0+'), field('mechanism', 'int8', '0+')]),
    ),
    '0+',
  ),
  field(
    'upsertions',
    array(
      struct('ScramCredentialUpsertion', [
        field('name', 'string', '0+'),
        field('mechanism', 'int8', '0+'),
        field('iterations', 'int32', '0+'),
        field('salt', 'bytes', '0+'),
        field('saltedPassword', 'bytes', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const AlterUserScramCredentialsResponse = response(
  51,
  'AlterUserScramCredentialsResponse',
  '0',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field(
      'results',
      array(
        struct('AlterUserScramCredentialsResult', [
          field('user', 'string', '0+'),
          field('errorCode', 'int16', '0+'),
          field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        ]),
      ),
      '0+',
    ),
  ],
);

/** A decoded AlterUserScramCredentialsRequest. */
export type AlterUserScramCredentialsRequestData = {
  deletions: { name: string; mechanism: number }[];
  upsertions: {
    name: string;
    mechanism: number;
    iterations: number;
    salt: Uint8Array;
    saltedPassword: Uint8Array;
  }[];
};

/** A decoded AlterUserScramCredentialsResponse. */
export type AlterUserScramCredentialsResponseData = {
  throttleTimeMs: number;
  results: { user: string; errorCode: number; errorMessage: string | null }[];
};
