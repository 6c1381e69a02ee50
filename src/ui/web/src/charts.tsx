/**
 * Charts: throughput per topic and lag per consumer group over the last minutes, pushed by the
 * server (src/ui/rates.ts: sampled from Kafka's offsets). Lines are drawn as SVG by hand (no chart
 * library: two line charts do not need one); the tables under them say the same in numbers.
 */
import { ErrorBox, usePushed } from './common.tsx';

interface RateSample {
  at: number;
  seconds: number;
  records: Record<string, number>;
  lag: Record<string, number>;
}

interface Rates {
  intervalMs: number;
  windowSamples: number;
  samples: RateSample[];
  leftOut: { topics: number; groups: number };
  error: string | null;
}

/** Lines drawn per chart (the busiest); the tables list every series. */
const CHART_LINES_MAX = 8;
const WIDTH = 640;
const HEIGHT = 180;
const PALETTE = ['#2f6fde', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#c2255c', '#5f3dc4'];

interface Series {
  name: string;
  points: { at: number; value: number }[];
}

function LineChart({ label, unit, series }: { label: string; unit: string; series: Series[] }) {
  const all = series.flatMap((s) => s.points);
  if (all.length < 2) return <p class="muted">Waiting for samples…</p>;
  const first = Math.min(...all.map((p) => p.at));
  const last = Math.max(...all.map((p) => p.at));
  const top = Math.max(1, ...all.map((p) => p.value));
  const x = (at: number) => ((at - first) / Math.max(1, last - first)) * (WIDTH - 60) + 50;
  const y = (value: number) => HEIGHT - 20 - (value / top) * (HEIGHT - 30);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${label}: ${series.length} lines, up to ${top.toFixed(1)} ${unit}`}
      >
        <line x1="50" y1={HEIGHT - 20} x2={WIDTH - 10} y2={HEIGHT - 20} class="axis" />
        <line x1="50" y1="10" x2="50" y2={HEIGHT - 20} class="axis" />
        <text x="45" y="16" text-anchor="end" class="tick">
          {top.toFixed(top < 10 ? 1 : 0)}
        </text>
        <text x="45" y={HEIGHT - 20} text-anchor="end" class="tick">
          0
        </text>
        <text x="50" y={HEIGHT - 4} class="tick">
          {new Date(first).toLocaleTimeString()}
        </text>
        <text x={WIDTH - 10} y={HEIGHT - 4} text-anchor="end" class="tick">
          {new Date(last).toLocaleTimeString()}
        </text>
        {series.map((s, i) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={PALETTE[i % PALETTE.length]}
            stroke-width="2"
            points={s.points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <figcaption>
        {series.map((s, i) => (
          <span key={s.name} class="legend">
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={PALETTE[i % PALETTE.length]} />
            </svg>{' '}
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

function throughput(samples: RateSample[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const s of samples) {
    if (s.seconds <= 0) continue;
    for (const [topic, records] of Object.entries(s.records)) {
      const series = out.get(topic) ?? { name: topic, points: [] };
      out.set(topic, series);
      series.points.push({ at: s.at, value: records / s.seconds });
    }
  }
  return out;
}

function lags(samples: RateSample[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const s of samples) {
    for (const [group, lag] of Object.entries(s.lag)) {
      const series = out.get(group) ?? { name: group, points: [] };
      out.set(group, series);
      series.points.push({ at: s.at, value: lag });
    }
  }
  return out;
}

const peak = (s: Series) => Math.max(0, ...s.points.map((p) => p.value));
const latest = (s: Series) => s.points[s.points.length - 1]?.value ?? 0;

export function ChartsPage() {
  const { data: rates, lost } = usePushed<Rates>('/api/rates/events', 'rates');
  const samples = rates?.samples ?? [];
  const topics = [...throughput(samples).values()];
  const totals = new Map<string, number>();
  for (const s of samples)
    for (const [t, n] of Object.entries(s.records)) totals.set(t, (totals.get(t) ?? 0) + n);
  topics.sort(
    (a, b) => (totals.get(b.name) ?? 0) - (totals.get(a.name) ?? 0) || a.name.localeCompare(b.name),
  );
  const groups = [...lags(samples).values()].sort(
    (a, b) => peak(b) - peak(a) || a.name.localeCompare(b.name),
  );
  const span = samples.length > 1 ? (samples[samples.length - 1]!.at - samples[0]!.at) / 1000 : 0;
  return (
    <section aria-labelledby="charts-title">
      <h1 id="charts-title">Throughput and lag</h1>
      <p class="muted" id="charts-about" data-samples={samples.length}>
        From Kafka's offsets, a sample every {(rates?.intervalMs ?? 0) / 1000} s since the UI started, the
        last {rates?.windowSamples ?? 0} kept (<span id="charts-span">{span.toFixed(0)}</span> s shown).
        {rates !== undefined &&
          rates.leftOut.topics + rates.leftOut.groups > 0 &&
          ` Left out by the limits: ${rates.leftOut.topics} topics, ${rates.leftOut.groups} groups.`}
      </p>
      {lost && <ErrorBox message="The live connection was lost; reconnecting…" />}
      <ErrorBox message={rates?.error ?? undefined} />
      <h2>Throughput per topic (records/s)</h2>
      <LineChart label="Throughput per topic" unit="records/s" series={topics.slice(0, CHART_LINES_MAX)} />
      <table aria-label="Topic throughput">
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col" class="num">
              Now (records/s)
            </th>
            <th scope="col" class="num">
              Peak (records/s)
            </th>
            <th scope="col" class="num">
              Records in the window
            </th>
          </tr>
        </thead>
        <tbody>
          {topics.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td class="num">{latest(s).toFixed(1)}</td>
              <td class="num">{peak(s).toFixed(1)}</td>
              <td class="num">{totals.get(s.name) ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Lag per consumer group (records)</h2>
      <LineChart label="Lag per consumer group" unit="records" series={groups.slice(0, CHART_LINES_MAX)} />
      <table aria-label="Group lag">
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col" class="num">
              Lag now
            </th>
            <th scope="col" class="num">
              Peak lag
            </th>
          </tr>
        </thead>
        <tbody>
          {groups.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td class="num">{latest(s)}</td>
              <td class="num">{peak(s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
