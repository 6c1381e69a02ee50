/**
 * Incremental fetch sessions (KIP-227). A consumer opens a session with a full fetch
 * (epoch 0); later fetches (epoch 1, 2, ...) name only the partitions that changed,
 * and the answer holds only partitions with news (records, a moved high watermark or
 * log start offset, an error). The cache is bounded
 * (`max.incremental.fetch.session.cache.slots`); the least recently used session goes.
 */
import { KafkaErrors } from '../protocol/errors.ts';
import type { Clock } from './services.ts';

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

/** One partition a session fetches, with what was last sent for it. */
export interface SessionPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** What the last response said (-1: never sent), to answer only changes. */
  sentHighWatermark: number;
  sentLogStartOffset: number;
}

export class FetchSession {
  readonly id: number;
  epoch: number;
  lastUsedMs: number;
  /** Insertion order is the order partitions are answered in. */
  readonly partitions = new Map<string, SessionPartition>();

  constructor(id: number, nowMs: number) {
    this.id = id;
    this.epoch = 1;
    this.lastUsedMs = nowMs;
  }
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export type SessionLookup =
  | { readonly kind: 'none' }
  | { readonly kind: 'new'; readonly session: FetchSession }
  | { readonly kind: 'incremental'; readonly session: FetchSession }
  | { readonly kind: 'error'; readonly errorCode: number };

export class FetchSessionCache {
  readonly #slots: number;
  readonly #clock: Clock;
  readonly #sessions = new Map<number, FetchSession>();
  #nextId = 1;

  constructor(slots: number, clock: Clock) {
    this.#slots = slots;
    this.#clock = clock;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Decides what a fetch with this session id and epoch means: a sessionless full fetch,
   * a full fetch opening a new session, an incremental fetch, or an error.
   */
  lookup(sessionId: number, sessionEpoch: number): SessionLookup {
    const nowMs = this.#clock.nowMs();
    if (sessionEpoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.#sessions.delete(sessionId);
      return { kind: 'none' };
    }
    if (sessionEpoch === INITIAL_EPOCH) {
      if (sessionId !== 0) this.#sessions.delete(sessionId);
      if (this.#slots === 0) return { kind: 'none' };
      if (this.#sessions.size >= this.#slots) this.#evictOldest();
      const session = new FetchSession(this.#newId(), nowMs);
      this.#sessions.set(session.id, session);
      return { kind: 'new', session };
    }
    const session = this.#sessions.get(sessionId);
    if (session === undefined)
      return { kind: 'error', errorCode: KafkaErrors.FETCH_SESSION_ID_NOT_FOUND.code };
    if (session.epoch !== sessionEpoch) {
      return { kind: 'error', errorCode: KafkaErrors.INVALID_FETCH_SESSION_EPOCH.code };
    }
    session.epoch = session.epoch === 0x7fffffff ? 1 : session.epoch + 1;
    session.lastUsedMs = nowMs;
    // Map order is recency order: re-insert to mark it used.
    this.#sessions.delete(session.id);
    this.#sessions.set(session.id, session);
    return { kind: 'incremental', session };
  }

  #newId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = this.#nextId >= 0x7fffffff ? 1 : this.#nextId + 1;
      if (!this.#sessions.has(id)) return id;
    }
  }

  #evictOldest(): void {
    const oldest = this.#sessions.keys().next();
    if (oldest.done !== true) this.#sessions.delete(oldest.value);
  }

  /** Drops a deleted topic's partitions from every session. */
  forgetTopic(topic: string): void {
    for (const session of this.#sessions.values()) {
      for (const [key, partition] of session.partitions) {
        if (partition.topic === topic) session.partitions.delete(key);
      }
    }
  }
}
