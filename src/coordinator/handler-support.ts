/**
 * Helpers shared by the group and producer handlers (src/broker/handlers/08-…, 09-…,
 * 10-…, 11-…, …): reaching the coordinator runtime the extension installed, copying bytes
 * out of the request frame, and the answers for features kstack does not offer.
 */
import type { RequestContext } from '../broker/handler.ts';
import { type CoordinatorRuntime, GROUP_COORDINATOR } from './extension.ts';

export function runtimeOf(context: RequestContext): CoordinatorRuntime | undefined {
  return context.broker.slots.get(GROUP_COORDINATOR);
}

/** Decoded bytes are views into the request frame: anything kept beyond the request is copied. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/** The client's host as Kafka reports it in DescribeGroups (`/127.0.0.1`). */
export function clientHostOf(context: RequestContext): string {
  return `/${context.connection.remoteAddress}`;
}

/** Kafka's "authorized operations not requested" marker. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** READ, DELETE and DESCRIBE (AclOperation codes 3, 6, 8): everything is allowed without an authorizer. */
export const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
