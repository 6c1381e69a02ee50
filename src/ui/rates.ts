/**
 * The Charts page's data: throughput per topic and lag per consumer group over the last minutes,
 * computed from Kafka's own offsets (ListOffsets, OffsetFetch), so it works against any cluster
 * (kstack, Apache Kafka, the Docker stack) without knowing where its /metrics are. Each round (every
 * RATES_INTERVAL_MS from the UI's start, listened to or not, so that a page opened now shows the last
 * minutes) reads every topic's log end offsets and every
 * consumer group's committed offsets; a sample holds, per topic, the records written since the
 * previous sample (end offsets' growth) and, per group, its lag (log end minus committed, summed over
 * the partitions it committed). The window keeps the last RATES_WINDOW_SAMPLES samples in memory and
 * is sent whole as server-sent `rates` events (at once to a page that opens, then after each sample).
 */
import type { FastifyInstance } from 'fastify';
import { isConsumerProtocolType } from '../common/consumer-groups.ts';
import type { UiKafka } from './kafka.ts';
import { serveWatch, Watch } from './watch.ts';

/** How often the cluster is sampled (from the UI's start, whether or not a Charts page is open). */
export const RATES_INTERVAL_MS = 2_000;
/** Samples kept (a bounded window: the oldest drops out): 150 at 2 s, the last 5 minutes. */
export const RATES_WINDOW_SAMPLES = 150;
/** Topics sampled (the first ones by name; the answer says when some were left out). */
export const RATES_TOPICS_MAX = 500;
/** Consumer groups sampled (the first ones by id; the answer says when some were left out). */
export const RATES_GROUPS_MAX = 100;

export interface RateSample {
  /** When the sample was read (ms since the epoch). */
  readonly at: number;
  /** Seconds since the previous sample (0 for the window's first). */
  readonly seconds: number;
  /** Records written to each topic since the previous sample (absent in the window's first). */
  readonly records: Readonly<Record<string, number>>;
  /** Each consumer group's lag, summed over its committed partitions. */
  readonly lag: Readonly<Record<string, number>>;
}

export interface Rates {
  readonly intervalMs: number;
  readonly windowSamples: number;
  readonly samples: readonly RateSample[];
  /** Topics or groups left out of the last sample by RATES_TOPICS_MAX or RATES_GROUPS_MAX. */
  readonly leftOut: { readonly topics: number; readonly groups: number };
  /** Why the last round failed (the window is kept), or null. */
  readonly error: string | null;
}

/** Kafka's internal topics and the registry's: not charted (records there are not the user's). */
function internal(topic: string): boolean {
  return topic.startsWith('__') || topic === '_schemas';
}

export function ratesWatch(kafka: UiKafka, intervalMs = RATES_INTERVAL_MS): Watch<Rates> {
  const samples: RateSample[] = [];
  let previousEnds: Map<string, bigint> | undefined;
  let previousAt = 0;
  let leftOut = { topics: 0, groups: 0 };
  const answer = (error: string | null): Rates => ({
    intervalMs,
    windowSamples: RATES_WINDOW_SAMPLES,
    samples: [...samples],
    leftOut,
    error,
  });
  return new Watch<Rates>('the Charts page', intervalMs, async () => {
    try {
      const names = (await kafka.listTopics()).filter((name) => !internal(name));
      const sampled = names.slice(0, RATES_TOPICS_MAX);
      const metadata = await kafka.metadata(sampled);
      const counts = new Map<string, number>();
      for (const [name, info] of metadata.topics) counts.set(name, info.partitions.length);
      const offsets = await kafka.offsets(counts);
      const ids = (await kafka.groups())
        .filter((g) => isConsumerProtocolType(g.protocolType))
        .map((g) => g.id);
      const groups = ids.slice(0, RATES_GROUPS_MAX);
      const committed = await Promise.all(groups.map((id) => kafka.committedOffsets(id)));
      const at = Date.now();

      const ends = new Map<string, bigint>();
      for (const [name, count] of counts) {
        let end = 0n;
        for (let p = 0; p < count; p++) end += offsets.get(`${name}/${p}`)?.end ?? 0n;
        ends.set(name, end);
      }
      const records: Record<string, number> = {};
      if (previousEnds !== undefined) {
        // A topic new since the previous sample counts from 0; a log end that went down (the topic
        // deleted and created again) counts what the new one holds.
        for (const [name, end] of ends) {
          const before = previousEnds.get(name) ?? 0n;
          records[name] = Number(end >= before ? end - before : end);
        }
      }
      const lag: Record<string, number> = {};
      groups.forEach((id, i) => {
        let total = 0n;
        for (const c of committed[i] ?? []) {
          const end = offsets.get(`${c.topic}/${c.partition}`)?.end;
          if (end !== undefined && end > c.offset) total += end - c.offset;
        }
        lag[id] = Number(total);
      });
      samples.push({
        at,
        seconds: previousEnds === undefined ? 0 : (at - previousAt) / 1000,
        records,
        lag,
      });
      if (samples.length > RATES_WINDOW_SAMPLES) samples.splice(0, samples.length - RATES_WINDOW_SAMPLES);
      previousEnds = ends;
      previousAt = at;
      leftOut = { topics: names.length - sampled.length, groups: ids.length - groups.length };
      return answer(null);
    } catch (error) {
      return answer((error as Error).message);
    }
  });
}

/** The span the topic list's rate is averaged over (the last samples of the window). */
export const TOPIC_RATE_SPAN_MS = 30_000;

/**
 * A topic's records per second over the last TOPIC_RATE_SPAN_MS of samples (null before a second
 * sample: no span yet). A topic absent from a sample (made since, or left out) counts 0 there.
 */
export function topicRate(rates: Rates, topic: string): number | null {
  const last = rates.samples.at(-1);
  if (last === undefined) return null;
  let records = 0;
  let seconds = 0;
  for (const s of rates.samples) {
    if (s.seconds === 0 || s.at < last.at - TOPIC_RATE_SPAN_MS) continue;
    records += s.records[topic] ?? 0;
    seconds += s.seconds;
  }
  return seconds === 0 ? null : records / seconds;
}

/**
 * `GET /api/rates` (the window as it is, no new sample) and `GET /api/rates/events` (the window at
 * once, then after each sample). Sampling starts when the server listens and runs until it closes.
 */
export function registerRates(app: FastifyInstance, watch: Watch<Rates>): void {
  app.addHook('onListen', async () => watch.keepAsking());
  app.get('/api/rates', () => watch.latest() ?? watch.get());
  serveWatch(app, '/api/rates/events', 'rates', watch);
}
