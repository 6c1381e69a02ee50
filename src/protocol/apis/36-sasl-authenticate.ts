import { field, request, response } from '../schema.ts';

// SaslAuthenticate (API key 36), written from Kafka's SaslAuthenticateRequest/SaslAuthenticateResponse message definitions.

export const SaslAuthenticateRequest = request(36, 'SaslAuthenticateRequest', '0-2', '2+', [
  field('authBytes', 'bytes', '0+'),
]);

export const SaslAuthenticateResponse = response(36, 'SaslAuthenticateResponse', '0-2', '2+', [
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '0+', { nullable: '0+' }),
  field('authBytes', 'bytes', '0+'),
  field('sessionLifetimeMs', 'int64', '1+', { default: 0n }),
]);

/** A decoded SaslAuthenticateRequest (every version's fields; absent ones hold their default). */
export type SaslAuthenticateRequestData = {
  authBytes: Uint8Array;
};

/** A decoded SaslAuthenticateResponse (every version's fields; absent ones hold their default). */
export type SaslAuthenticateResponseData = {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Uint8Array;
  sessionLifetimeMs: bigint;
};
