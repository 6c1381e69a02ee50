/**
 * Faults: the brokers of a `kstack up --brokers N` cluster as its fault control and Kafka see them,
 * the actions that break them on purpose (kill, stop, start, restart, pause, resume, isolate, slow,
 * heal), a running acks=all producer, and the producer topic's leaders and ISR, all pushed by the
 * server (server-sent `status` events) so a failover is watched as it happens.
 */
import { useState } from 'preact/hooks';
import { post } from './api.tsx';
import { Card, ErrorBox, Loading, usePushed } from './common.tsx';

interface FaultNode {
  nodeId: number;
  pid: number | null;
  state: string;
  registered: boolean;
  restarts: number;
  isolatedFrom?: string | null;
  delayMs?: number;
  delayFrom?: string | null;
}

interface Snapshot {
  at: number;
  controlUrl: string | null;
  nodes: FaultNode[] | null;
  nodesError: string | null;
  serving: { id: number; host: string; port: number }[] | null;
  controllerId: number | null;
  metadataError: string | null;
  leaders: Record<string, number>;
  underReplicated: number | null;
  offline: number | null;
  topic: {
    name: string;
    partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
  } | null;
  producer: {
    running: boolean;
    topic: string | null;
    acknowledged: number;
    failed: number;
    lastError: string | null;
    startedAt: number | null;
  };
}

const SIDES = ['all', 'peers', 'clients'] as const;

/** What a broker is, in words: the supervisor's state, then what Kafka and the proxies make of it. */
function brokerState(node: FaultNode | undefined, serving: boolean, metadataKnown: boolean): string {
  const parts: string[] = [];
  if (node === undefined) parts.push(serving ? 'serving' : 'unknown');
  else if (node.state === 'running' && metadataKnown && !serving)
    parts.push('running, fenced (not in Metadata)');
  else parts.push(node.state === 'running' && serving ? 'up (serving)' : node.state);
  if (node?.isolatedFrom) parts.push(`isolated from ${node.isolatedFrom}`);
  if (node?.delayMs) parts.push(`slowed ${node.delayMs} ms (${node.delayFrom ?? 'all'})`);
  return parts.join(', ');
}

export function FaultsPage() {
  const { data: snapshot, lost } = usePushed<Snapshot>('/api/faults/events', 'status');
  const [keepDown, setKeepDown] = useState(true);
  const [side, setSide] = useState<string>('all');
  const [delayMs, setDelayMs] = useState('200');
  const [topic, setTopic] = useState('ui-failover');
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const act = async (nodeId: number, action: string, label: string) => {
    const body: Record<string, unknown> = {};
    if (action === 'kill') body.restart = !keepDown;
    if (action === 'isolate' || action === 'slow') body.from = side;
    if (action === 'slow') body.delayMs = Number(delayMs);
    setBusy(`${label} broker ${nodeId}`);
    setError(undefined);
    setNotice(undefined);
    try {
      const node = await post<FaultNode>(`/api/faults/nodes/${nodeId}/${action}`, body);
      setNotice(`${label} broker ${nodeId}: done, its process is ${node.state}`);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  const producer = async (start: boolean) => {
    setError(undefined);
    setNotice(undefined);
    try {
      if (start) {
        const answer = await post<{ topic: string; created: boolean }>('/api/faults/producer', { topic });
        setNotice(
          `Producing to ${answer.topic}${answer.created ? ' (created: 3 partitions, RF 3, min.insync.replicas 2)' : ''}`,
        );
      } else {
        await post('/api/faults/producer/stop', {});
        setNotice('Producer stopped');
      }
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  const nodes = snapshot?.nodes ?? [];
  const servingIds = new Set((snapshot?.serving ?? []).map((b) => b.id));
  const ids = [...new Set([...nodes.map((n) => n.nodeId), ...servingIds])].sort((a, b) => a - b);
  const p = snapshot?.producer;
  return (
    <section aria-labelledby="faults-title">
      <h1 id="faults-title">Faults</h1>
      <p class="muted">
        Break the cluster on purpose and watch it recover: updates are pushed by the UI every second.
        {snapshot?.controlUrl && (
          <>
            {' '}
            Fault control <code>{snapshot.controlUrl}</code>
          </>
        )}
      </p>
      {snapshot === undefined && <Loading what="the cluster's brokers" />}
      {lost && <ErrorBox message="The live updates stopped (connection lost); reconnecting…" />}
      {snapshot !== undefined && (
        <>
          <ErrorBox message={snapshot.nodesError ?? undefined} />
          <ErrorBox message={snapshot.metadataError ?? undefined} />
          <div class="cards">
            <Card label="Serving brokers">{snapshot.serving?.length ?? '—'}</Card>
            <Card label="Controller">{snapshot.controllerId ?? '—'}</Card>
            <Card label="Under-replicated">{snapshot.underReplicated ?? '—'}</Card>
            <Card label="Offline">{snapshot.offline ?? '—'}</Card>
          </div>
          <h2>Brokers</h2>
          <form class="inline" onSubmit={(e) => e.preventDefault()} aria-label="Fault options">
            <div class="field">
              <label for="fault-keep-down">Kill keeps it down</label>
              <input
                id="fault-keep-down"
                type="checkbox"
                checked={keepDown}
                onChange={(e) => setKeepDown((e.target as HTMLInputElement).checked)}
              />
            </div>
            <div class="field">
              <label for="fault-side">Isolate or slow links to</label>
              <select
                id="fault-side"
                value={side}
                onChange={(e) => setSide((e.target as HTMLSelectElement).value)}
              >
                {SIDES.map((s) => (
                  <option key={s} value={s}>
                    {s === 'all' ? 'peers and clients' : s}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="fault-delay">Slow by (ms)</label>
              <input
                id="fault-delay"
                type="number"
                min={1}
                max={60000}
                value={delayMs}
                onInput={(e) => setDelayMs((e.target as HTMLInputElement).value)}
              />
            </div>
          </form>
          <div class="scroll">
            <table aria-label="Fault brokers">
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Leaders
                  </th>
                  <th scope="col" class="num">
                    Pid
                  </th>
                  <th scope="col" class="num">
                    Restarts
                  </th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {ids.map((id) => {
                  const node = nodes.find((n) => n.nodeId === id);
                  const actions: [string, string][] = [
                    ['kill', 'Kill'],
                    ['start', 'Start'],
                    ['stop', 'Stop'],
                    ['restart', 'Restart'],
                    ['pause', 'Pause'],
                    ['resume', 'Resume'],
                    ['isolate', 'Isolate'],
                    ['slow', 'Slow'],
                    ['heal', 'Heal'],
                  ];
                  return (
                    <tr key={id} data-broker={id}>
                      <td>
                        {id}
                        {id === snapshot.controllerId && <span class="tag">controller</span>}
                      </td>
                      <td>{brokerState(node, servingIds.has(id), snapshot.serving !== null)}</td>
                      <td class="num">{servingIds.has(id) ? (snapshot.leaders[String(id)] ?? 0) : '—'}</td>
                      <td class="num">{node?.pid ?? '—'}</td>
                      <td class="num">{node?.restarts ?? '—'}</td>
                      <td class="actions">
                        {actions.map(([action, label]) => (
                          <button
                            key={action}
                            type="button"
                            class={action === 'kill' || action === 'stop' ? 'danger' : undefined}
                            disabled={busy !== undefined || snapshot.nodes === null}
                            aria-label={`${label} broker ${id}`}
                            onClick={() => void act(id, action, label)}
                          >
                            {label}
                          </button>
                        ))}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {busy !== undefined && (
            <p class="muted" role="status">
              {busy}…
            </p>
          )}
          <div id="fault-result">
            <ErrorBox message={error} />
          </div>
          {notice !== undefined && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          <h2>Producer</h2>
          <form class="inline" onSubmit={(e) => e.preventDefault()}>
            <div class="field">
              <label for="producer-topic">Topic (created with RF 3 if missing)</label>
              <input
                id="producer-topic"
                value={topic}
                disabled={p?.running}
                onInput={(e) => setTopic((e.target as HTMLInputElement).value)}
              />
            </div>
            {p?.running ? (
              <button type="button" onClick={() => void producer(false)}>
                Stop producer
              </button>
            ) : (
              <button type="button" class="primary" onClick={() => void producer(true)}>
                Start producer
              </button>
            )}
          </form>
          {p?.topic !== null && p !== undefined && (
            <>
              <div class="cards" id="producer-counts">
                <Card label="Acknowledged">
                  <span data-count="acknowledged">{p.acknowledged}</span>
                </Card>
                <Card label="Failed">
                  <span data-count="failed">{p.failed}</span>
                </Card>
              </div>
              <p class="muted">
                {p.running ? 'Sending' : 'Stopped:'} one acks=all message at a time to <code>{p.topic}</code>
                {p.lastError !== null && <> · last failure: {p.lastError}</>}
              </p>
            </>
          )}
          <h2>Partitions of {snapshot.topic?.name ?? p?.topic ?? 'ui-failover'}</h2>
          {snapshot.topic === null ? (
            <p class="muted">
              {snapshot.metadataError === null
                ? 'The topic does not exist yet: start the producer to create it.'
                : 'Not known: no broker answered Metadata (above).'}
            </p>
          ) : (
            <div class="scroll">
              <table aria-label="Failover partitions">
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      Partition
                    </th>
                    <th scope="col" class="num">
                      Leader
                    </th>
                    <th scope="col">Replicas</th>
                    <th scope="col">ISR</th>
                  </tr>
                </thead>
                <tbody>
                  {snapshot.topic.partitions.map((row) => (
                    <tr key={row.partition}>
                      <td class="num">{row.partition}</td>
                      <td class="num">{row.leader < 0 ? 'none' : row.leader}</td>
                      <td>{row.replicas.join(', ')}</td>
                      <td>{row.isr.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted">As of {new Date(snapshot.at).toISOString()}</p>
        </>
      )}
    </section>
  );
}
