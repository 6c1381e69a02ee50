/** The cluster: brokers with their leader and replica counts, partition health, and the UI's links. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Cluster, ClusterLive, Config, PartitionProblem } from './api.tsx';
import { Card, ErrorBox, formatBytes, Loading, useApi, usePushed } from './common.tsx';

function ProblemTable({ label, rows }: { label: string; rows: readonly PartitionProblem[] }) {
  return (
    <div class="scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Topic</th>
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
          {rows.map((p) => (
            <tr key={`${p.topic}/${p.partition}`}>
              <td>
                <a href={`#/topics/${encodeURIComponent(p.topic)}`}>{p.topic}</a>
              </td>
              <td class="num">{p.partition}</td>
              <td class="num">{p.leader < 0 ? 'none' : p.leader}</td>
              <td>{p.replicas.join(', ')}</td>
              <td>{p.isr.join(', ') || 'none'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The quorum, the brokers not serving and the partitions at risk, pushed. */
function LiveHealth({ live, lost }: { live: ClusterLive | undefined; lost: boolean }) {
  if (live === undefined) return <Loading what="the cluster's health" />;
  const status = live.status;
  return (
    <section aria-labelledby="health-title">
      <h2 id="health-title">Health</h2>
      {lost && <ErrorBox message="The live updates stopped (connection lost); reconnecting…" />}
      <ErrorBox message={live.error ?? undefined} />
      {status !== null && (
        <>
          <p>
            Not serving (down or fenced):{' '}
            <span id="absent-brokers">
              {status.absentBrokers.length === 0 ? 'none' : status.absentBrokers.join(', ')}
            </span>
          </p>
          <h3>Metadata quorum</h3>
          {status.quorum.served ? (
            <>
              <p>
                Leader <span id="quorum-leader">{status.quorum.leaderId}</span>, epoch{' '}
                {status.quorum.leaderEpoch}, high watermark {status.quorum.highWatermark}
              </p>
              <div class="scroll">
                <table aria-label="Quorum voters">
                  <thead>
                    <tr>
                      <th scope="col">Voter</th>
                      <th scope="col" class="num">
                        Log end offset
                      </th>
                      <th scope="col" class="num">
                        Lag
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...status.quorum.voters, ...status.quorum.observers].map((v, index) => (
                      <tr key={`${v.nodeId}/${index}`}>
                        <td>
                          {v.nodeId}
                          {status.quorum.served && v.nodeId === status.quorum.leaderId && (
                            <span class="tag">leader</span>
                          )}
                          {status.quorum.served && index >= status.quorum.voters.length && (
                            <span class="tag">observer</span>
                          )}
                        </td>
                        <td class="num">{v.logEndOffset}</td>
                        <td class="num">{v.lag}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ) : (
            <p class="muted">{status.quorum.reason}</p>
          )}
          <h3>Under-replicated partitions ({status.underReplicated.length})</h3>
          {status.underReplicated.length > 0 && (
            <ProblemTable label="Under-replicated partitions" rows={status.underReplicated} />
          )}
          <h3>Offline partitions ({status.offline.length})</h3>
          {status.offline.length > 0 && <ProblemTable label="Offline partitions" rows={status.offline} />}
          <p class="muted">As of {new Date(live.at).toISOString()}, updated every 2 s without a reload</p>
        </>
      )}
    </section>
  );
}

/** A count with the internal topics' share, as kafbat says it: "12 (3 internal)". */
const withInternal = (shown: number, internal: number | null): string =>
  internal === null
    ? `${shown} (internal not counted)`
    : internal === 0
      ? String(shown)
      : `${shown + internal} (${internal} internal)`;

export function ClusterPage() {
  const { data, error, reload } = useApi<Cluster>('/api/cluster');
  // The cluster's health as the server pushes it (`cluster` events every 2 s).
  const { data: live, lost } = usePushed<ClusterLive>('/api/cluster/events', 'cluster');
  const status = live?.status ?? null;
  // The broker table (leaders, replicas per broker) is read again when the pushed health changes.
  const shape =
    status === null
      ? ''
      : `${status.brokers.map((b) => b.nodeId).join(',')}|${status.absentBrokers.join(',')}|${status.underReplicated.length}|${status.offline.length}|${status.partitionCount}`;
  useEffect(() => {
    if (shape !== '') reload();
  }, [shape]);
  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster</h1>
      <ErrorBox message={error} />
      {data === undefined ? (
        error === undefined && <Loading what="the cluster" />
      ) : (
        <>
          <div class="cards">
            <Card label="Brokers">{status?.brokers.length ?? data.brokers.length}</Card>
            <Card label="Topics">
              <span id="topic-count">{withInternal(data.topics, data.internalTopics)}</span>
            </Card>
            <Card label="Partitions">
              <span id="partition-count">{withInternal(data.partitions, data.internalPartitions)}</span>
            </Card>
            <Card label="Under-replicated">{data.underReplicated}</Card>
            <Card label="Offline">{data.offline}</Card>
          </div>
          <p>
            Cluster id <code>{data.clusterId}</code>, controller {data.controllerId}, bootstrap{' '}
            <code>{data.bootstrap}</code>
            {data.readOnly && <span class="tag">read-only</span>}
          </p>
          <h2>Brokers</h2>
          <div class="scroll">
            <table aria-label="Brokers">
              <caption class="muted">
                Each broker, the partitions it leads, the replicas it holds and their logs' size
                {data.logSizeError !== null && ` (unknown: ${data.logSizeError})`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Address</th>
                  <th scope="col">Rack</th>
                  <th scope="col" class="num">
                    Leaders
                  </th>
                  <th scope="col" class="num">
                    Replicas
                  </th>
                  <th scope="col" class="num">
                    Log size
                  </th>
                  <th scope="col">Configs</th>
                </tr>
              </thead>
              <tbody>
                {data.brokers.map((b) => (
                  <tr key={b.id}>
                    <td>
                      {b.id}
                      {b.id === data.controllerId && <span class="tag">controller</span>}
                    </td>
                    <td>
                      {b.host}:{b.port}
                    </td>
                    <td>{b.rack ?? '—'}</td>
                    <td class="num">{b.leaders}</td>
                    <td class="num">{b.replicas}</td>
                    <td class="num" title={b.logBytes === null ? 'unknown' : `${b.logBytes} bytes`}>
                      {formatBytes(b.logBytes)}
                    </td>
                    <td>
                      <a href={`#/brokers/${b.id}`}>Configs of broker {b.id}</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted">
            Schema Registry: {data.schemaRegistry ?? 'not configured'} · Connect:{' '}
            {data.connect ?? 'not configured'}
          </p>
          <button type="button" onClick={reload}>
            Refresh
          </button>
        </>
      )}
      <LiveHealth live={live} lost={lost} />
    </section>
  );
}

/** One broker's configs (DescribeConfigs), with where each value comes from, filtered by name. */
export function BrokerPage({ id }: { id: string }) {
  const { data, error } = useApi<Config[]>(`/api/brokers/${encodeURIComponent(id)}/configs`);
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => (data ?? []).filter((c) => c.name.includes(filter)), [data, filter]);
  return (
    <section aria-labelledby="broker-title">
      <p>
        <a href="#/">← Cluster</a>
      </p>
      <h1 id="broker-title">Broker {id}</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="the broker's configs" />}
      {data !== undefined && (
        <>
          <form class="inline" onSubmit={(e) => e.preventDefault()}>
            <div class="field">
              <label for="broker-config-filter">Filter configs</label>
              <input
                id="broker-config-filter"
                type="search"
                value={filter}
                onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
              />
            </div>
          </form>
          <div class="scroll">
            <table aria-label="Broker configs">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Value</th>
                  <th scope="col">Source</th>
                  <th scope="col">Read-only</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => (
                  <tr key={c.name} data-config={c.name}>
                    <td>{c.name}</td>
                    <td>{c.sensitive ? '(sensitive)' : (c.value ?? '(null)')}</td>
                    <td>{c.source}</td>
                    <td>{c.readOnly ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted">
            {rows.length} of {data.length} configs shown
          </p>
        </>
      )}
    </section>
  );
}
