import type { ControllerHandler } from '../handler.ts';
import { answerQuorumRequest } from './quorum-request.ts';

/** Fetch on the controller listener: handed to the Raft replica of the metadata log. */
export const handler: ControllerHandler = {
  apiKey: 1,
  name: 'Fetch',
  minVersion: 13,
  maxVersion: 17,
  handle: (request, context) => answerQuorumRequest(1, request, context),
};
