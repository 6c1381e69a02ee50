import {
  type Input,
  KafkaErrors,
  type SaslHandshakeRequestData,
  type SaslHandshakeResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

/** SaslHandshake: no SASL mechanism is configured, so every mechanism is refused with the (empty) list. */
export const handler = defineHandler<SaslHandshakeRequestData, Input<SaslHandshakeResponseData>>({
  apiKey: 17,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,
  handle() {
    return { errorCode: KafkaErrors.UNSUPPORTED_SASL_MECHANISM.code, mechanisms: [] };
  },
});
