/** The cluster: brokers with their leader and replica counts, partition health, and the UI's links. */
import type { Cluster } from './api.tsx';
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
