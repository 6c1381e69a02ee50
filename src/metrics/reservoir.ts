/**
 * Request latencies kept for quantiles, as Kafka's histograms keep a reservoir of
 * samples (1028 of them) rather than every value: here the most recent ones, in a ring.
 */

/** Samples kept per request type: Kafka's histogram reservoir size. */
export const LATENCY_SAMPLES_MAX = 1028;

/** The quantiles Kafka's histograms expose, labelled as the JMX exporter rule writes them ("0.$N"). */
export const QUANTILES: readonly (readonly [string, number])[] = [
  ['0.50', 0.5],
  ['0.75', 0.75],
  ['0.95', 0.95],
  ['0.98', 0.98],
  ['0.99', 0.99],
  ['0.999', 0.999],
];

export class LatencyReservoir {
  readonly #samples = new Float64Array(LATENCY_SAMPLES_MAX);
  #next = 0;
  #count = 0;
  #sortedSamples = new Float64Array(0);
  #sortedAtCount = 0;

  /** Samples ever added (Kafka's histogram Count). */
  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#samples[this.#next] = value;
    this.#next = (this.#next + 1) % LATENCY_SAMPLES_MAX;
    this.#count++;
  }

  /**
   * The `q` quantile of the kept samples, interpolated between neighbours at position
   * q·(n+1) as the Dropwizard snapshots Kafka uses do; 0 when there are none.
   */
  quantile(q: number): number {
    return quantileOfSorted(this.#sorted(), q);
  }

  /** The quantiles of `qs`, from one sort of the kept samples (a scrape asks for six). */
  quantiles(qs: readonly number[]): number[] {
    const sorted = this.#sorted();
    return qs.map((q) => quantileOfSorted(sorted, q));
  }

  /**
   * The kept samples in order, sorted again only when a sample came since the last sort: a
   * Float64Array sort of 1028 values costs ~0.1 ms, and a scrape reads every request type.
   */
  #sorted(): Float64Array {
    if (this.#sortedAtCount !== this.#count) {
      this.#sortedSamples = this.#samples.slice(0, Math.min(this.#count, LATENCY_SAMPLES_MAX)).sort();
      this.#sortedAtCount = this.#count;
    }
    return this.#sortedSamples;
  }
}

function quantileOfSorted(sorted: Float64Array, q: number): number {
  const size = sorted.length;
  if (size === 0) return 0;
  const position = q * (size + 1);
  if (position < 1) return sorted[0]!;
  if (position >= size) return sorted[size - 1]!;
  const index = Math.floor(position);
  const lower = sorted[index - 1]!;
  const upper = sorted[index]!;
  return lower + (position - index) * (upper - lower);
}
