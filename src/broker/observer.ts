/**
 * What the broker tells an observer (the metrics of src/metrics) about its work, as
 * plain calls with numbers: the broker imports no metrics library. Every method runs on
 * the hot path, so an observer only adds to counters there and does the rest when scraped.
 */
import type { RequestDispatcher } from '../server/server.ts';

export interface BrokerObserver {
  /** Records appended to a partition's log as leader (Kafka's MessagesInPerSec, BytesInPerSec). */
  appended(topic: string, records: number, bytes: number): void;
  /**
   * Record bytes read from a partition's log for an answer (Kafka's BytesOutPerSec). Reads
   * by the group coordinator loading its partition count too; Kafka does not count those.
   */
  read(topic: string, bytes: number): void;
  /** Wraps the request dispatcher once at start, to count and time requests per API. */
  observeRequests(dispatcher: RequestDispatcher): RequestDispatcher;
}
