/**
 * The controller listener's handlers: one file per API key in `handlers/`, as the broker's, but
 * served only on `controller.listener.names` (Kafka keeps the two API lists apart: a controller
 * listener advertises what it serves, never the broker's APIs).
 */
import type { MessageValue } from '../protocol/index.ts';
import type { ControllerNode } from './node.ts';

export interface ControllerRequestContext {
  readonly apiVersion: number;
  readonly clientId: string | null;
  readonly node: ControllerNode;
}

export interface ControllerHandler {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: MessageValue, context: ControllerRequestContext): MessageValue | Promise<MessageValue>;
}
