import type { ControllerHandler } from '../handler.ts';
import { answerQuorumRequest } from './quorum-request.ts';

/** Vote on the controller listener: handed to the Raft replica of the metadata log. */
export const handler: ControllerHandler = {
  apiKey: 52,
  name: 'Vote',
  minVersion: 0,
  maxVersion: 2,
  handle: (request, context) => answerQuorumRequest(52, request, context),
};
