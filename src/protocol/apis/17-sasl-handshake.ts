import { array, field, request, response } from '../schema.ts';

// SaslHandshake (API key 17), written from Kafka's SaslHandshakeRequest/SaslHandshakeResponse message definitions.

export const SaslHandshakeRequest = request(17, 'SaslHandshakeRequest', '0-1', 'none', [
  field('mechanism', 'string', '0+'),
]);

export const SaslHandshakeResponse = response(17, 'SaslHandshakeResponse', '0-1', 'none', [
  field('errorCode', 'int16', '0+'),
  field('mechanisms', array('string'), '0+'),
]);

/** A decoded SaslHandshakeRequest (every version's fields; absent ones hold their default). */
export type SaslHandshakeRequestData = {
  mechanism: string;
};

/** A decoded SaslHandshakeResponse (every version's fields; absent ones hold their default). */
export type SaslHandshakeResponseData = {
  errorCode: number;
  mechanisms: string[];
};
