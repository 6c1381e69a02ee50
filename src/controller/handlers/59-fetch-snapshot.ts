import type { ControllerHandler } from '../handler.ts';
import { answerQuorumRequest } from './quorum-request.ts';

/** FetchSnapshot on the controller listener: handed to the Raft replica of the metadata log. */
export const handler: ControllerHandler = {
  apiKey: 59,
  name: 'FetchSnapshot',
  minVersion: 0,
  maxVersion: 1,
  handle: (request, context) => answerQuorumRequest(59, request, context),
};
