import type { ControllerHandler } from '../handler.ts';
import { answerQuorumRequest } from './quorum-request.ts';

/** BeginQuorumEpoch on the controller listener: handed to the Raft replica of the metadata log. */
export const handler: ControllerHandler = {
  apiKey: 53,
  name: 'BeginQuorumEpoch',
  minVersion: 0,
  maxVersion: 1,
  handle: (request, context) => answerQuorumRequest(53, request, context),
};
