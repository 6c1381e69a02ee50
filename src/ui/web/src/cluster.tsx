/** The cluster: brokers with their leader and replica counts, partition health, and the UI's links. */
import { useMemo, useState } from 'preact/hooks';
import type { Cluster, Config } from './api.tsx';
import { Card, ErrorBox, Loading, useApi } from './common.tsx';

export function ClusterPage() {
  const { data, error, reload } = useApi<Cluster>('/api/cluster');
  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster</h1>
      <ErrorBox message={error} />
      {data === undefined ? (
        error === undefined && <Loading what="the cluster" />
      ) : (
        <>
          <div class="cards">
            <Card label="Brokers">{data.brokers.length}</Card>
            <Card label="Topics">{data.topics}</Card>
            <Card label="Partitions">{data.partitions}</Card>
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
              <caption class="muted">Each broker, the partitions it leads and the replicas it holds</caption>
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
