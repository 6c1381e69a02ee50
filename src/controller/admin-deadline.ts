/**
 * The `timeoutMs` of CreateTopics (19), CreatePartitions (37) and DeleteTopics (20): Kafka's
 * controller takes it as the deadline of the request's event in its queue
 * (`requestTimeoutMsToDeadlineNs`), so 0 or below has passed before the event runs: every topic is
 * answered REQUEST_TIMED_OUT with no message and nothing is written, validate-only included.
 * Asked of Apache Kafka 4.1.1 (test/controller/admin-timeout-reference.long.ts, three nodes): 0
 * and -1, on a broker listener and on the active controller's, all three requests: error 7,
 * message null, the topics neither created, grown nor deleted.
 */
import { KafkaErrors } from '../protocol/index.ts';

/** True when a request's `timeoutMs` leaves Kafka's controller no time at all (0 or below). */
export function deadlineAlreadyPassed(timeoutMs: number): boolean {
  return timeoutMs <= 0;
}

/** The per-topic answer of a request whose deadline passed: REQUEST_TIMED_OUT, no message (as Kafka). */
export const DEADLINE_PASSED = {
  errorCode: KafkaErrors.REQUEST_TIMED_OUT.code,
  errorMessage: null,
} as const;
