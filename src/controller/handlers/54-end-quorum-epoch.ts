import type { ControllerHandler } from '../handler.ts';
import { answerQuorumRequest } from './quorum-request.ts';

/** EndQuorumEpoch on the controller listener: handed to the Raft replica of the metadata log. */
export const handler: ControllerHandler = {
  apiKey: 54,
  name: 'EndQuorumEpoch',
  minVersion: 0,
  maxVersion: 1,
  handle: (request, context) => answerQuorumRequest(54, request, context),
};
