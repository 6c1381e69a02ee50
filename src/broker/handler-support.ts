/** Small helpers shared by the broker's own handlers. */
import type { Broker } from './broker.ts';
import type { RequestContext } from './handler.ts';

/**
 * The broker's own handlers use the concrete `Broker` (admin operations, topic settings,
 * fetch sessions); handlers written against `BrokerServices` alone stay portable.
 */
export function brokerOf(context: RequestContext): Broker {
  return context.broker as Broker;
}

/** Kafka's "authorized operations not requested" marker. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
