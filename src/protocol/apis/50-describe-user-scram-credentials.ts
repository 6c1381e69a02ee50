import { array, field, request, response, struct } from '../schema.ts';

// DescribeUserScramCredentials (API key 50), written from Kafka's DescribeUserScramCredentialsRequest/Response message definitions.

export const DescribeUserScramCredentialsRequest = request(
  50,
  'DescribeUserScramCredentialsRequest',
  '0',
  '0+',
  [field('users', array(struct('UserName', [field('name', 'string', '0+')])), '0+', { nullable: '0+' })],
);

export const DescribeUserScramCredentialsResponse = response(
  50,
  'DescribeUserScramCredentialsResponse',
  '0',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    field(
      'results',
      array(
        struct('DescribeUserScramCredentialsResult', [
          field('user', 'string', '0+'),
          field('errorCode', 'int16', '0+'),
          field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
          field(
            'credentialInfos',
            array(
              struct('CredentialInfo', [
                field('mechanism', 'int8', '0+'),
                field('iterations', 'int32', '0+'),
              ]),
            ),
            '0+',
          ),
        ]),
      ),
      '0+',
    ),
  ],
);

/** A decoded DescribeUserScramCredentialsRequest. */
export type DescribeUserScramCredentialsRequestData = {
  users: { name: string }[] | null;
};

/** A decoded DescribeUserScramCredentialsResponse. */
export type DescribeUserScramCredentialsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  results: {
    user: string;
    errorCode: number;
    errorMessage: string | null;
    credentialInfos: { mechanism: number; iterations: number }[];
  }[];
};
