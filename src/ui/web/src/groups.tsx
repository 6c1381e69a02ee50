/** Consumer groups: the list; one group's members, lag per partition, and offset reset with a preview. */
import { useState } from 'preact/hooks';
import { type Group, post } from './api.tsx';
import { Card, ErrorBox, Loading, useApi } from './common.tsx';

export function GroupsPage() {
  const { data, error, reload } =
    useApi<{ id: string; state: string; protocolType: string }[]>('/api/groups');
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Consumer groups</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="groups" />}
      {data !== undefined && (
        <table aria-label="Consumer groups">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">State</th>
              <th scope="col">Protocol type</th>
            </tr>
          </thead>
          <tbody>
            {data.map((g) => (
              <tr key={g.id}>
                <td>
                  <a href={`#/groups/${encodeURIComponent(g.id)}`}>{g.id}</a>
                </td>
                <td>{g.state}</td>
                <td>{g.protocolType || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={reload}>
        Refresh
      </button>
    </section>
  );
}

interface ResetPlan {
  dryRun: boolean;
  topic: string;
  partitions: { partition: number; current: string | null; target: string }[];
}

function ResetOffsets({ group, onDone }: { group: Group; onDone: () => void }) {
  const topics = [...new Set(group.offsets.map((o) => o.topic))];
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState('earliest');
  const [value, setValue] = useState('');
  const [plan, setPlan] = useState<ResetPlan | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const ask = async (dryRun: boolean) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const body = { topic, to, dryRun, ...(to === 'earliest' || to === 'latest' ? {} : { value }) };
      const answer = await post<ResetPlan>(`/api/groups/${encodeURIComponent(group.id)}/reset`, body);
      setPlan(answer);
      if (!dryRun) {
        setNotice(`Offsets of ${group.id} on ${topic} reset.`);
        setPlan(undefined);
        onDone();
      }
    } catch (failure) {
      setError((failure as Error).message);
      setPlan(undefined);
    }
  };
  return (
    <section aria-labelledby="reset-title">
      <h2 id="reset-title">Reset offsets</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void ask(true);
        }}
      >
        <div class="field">
          <label for="reset-topic">Topic</label>
          <input
            id="reset-topic"
            value={topic}
            onInput={(e) => setTopic((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="reset-to">To</label>
          <select id="reset-to" value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
            <option value="earliest">the earliest offset</option>
            <option value="latest">the latest offset</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time (ms)</option>
            <option value="shift">shift by N</option>
          </select>
        </div>
        {to !== 'earliest' && to !== 'latest' && (
          <div class="field">
            <label for="reset-value">Value</label>
            <input
              id="reset-value"
              value={value}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
            />
          </div>
        )}
        <button type="submit">Preview</button>
      </form>
      <ErrorBox message={error} />
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {plan !== undefined && (
        <>
          <table aria-label="Reset preview">
            <thead>
              <tr>
                <th scope="col" class="num">
                  Partition
                </th>
                <th scope="col" class="num">
                  Committed now
                </th>
                <th scope="col" class="num">
                  After the reset
                </th>
              </tr>
            </thead>
            <tbody>
              {plan.partitions.map((p) => (
                <tr key={p.partition}>
                  <td class="num">{p.partition}</td>
                  <td class="num">{p.current ?? '—'}</td>
                  <td class="num">{p.target}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="danger" onClick={() => void ask(false)}>
            Confirm the reset
          </button>
        </>
      )}
    </section>
  );
}

function DeleteGroup({ id }: { id: string }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = async (event: Event) => {
    event.preventDefault();
    try {
      await post(`/api/groups/${encodeURIComponent(id)}/delete`, { confirm: typed });
      location.hash = '#/groups';
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="inline" onSubmit={remove} aria-labelledby="delete-group-title">
      <h2 id="delete-group-title">Delete this group</h2>
      <div class="field">
        <label for="delete-group-confirm">Type the group id to confirm</label>
        <input
          id="delete-group-confirm"
          value={typed}
          onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" class="danger" disabled={typed !== id}>
        Delete group
      </button>
      <ErrorBox message={error} />
    </form>
  );
}

export function GroupPage({ id }: { id: string }) {
  const { data, error, reload } = useApi<Group>(`/api/groups/${encodeURIComponent(id)}`);
  const consumer = data !== undefined && isConsumerGroup(data);
  return (
    <section aria-labelledby="group-title">
      <p>
        <a href="#/groups">← Consumer groups</a>
      </p>
      <h1 id="group-title">{id}</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="the group" />}
      {data !== undefined && (
        <>
          <div class="cards">
            <Card label="State">{data.state}</Card>
            <Card label="Protocol type">
              <span id="group-protocol-type">{data.protocolType || '—'}</span>
            </Card>
            <Card label="Members">{data.members.length}</Card>
            {consumer && (
              <Card label="Total lag">
                <span data-testid="total-lag">{data.totalLag}</span>
              </Card>
            )}
          </div>
          {!consumer && (
            <p class="muted" id="group-not-consumer">
              {`Not a consumer group (protocol type '${data.protocolType}'): its members' assignments are not shown, and it commits no offsets, so it has no lag.`}
            </p>
          )}
          <h2>Members</h2>
          {data.members.length === 0 ? (
            <p class="muted">No active members.</p>
          ) : (
            <table aria-label="Members">
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Host</th>
                  {consumer && <th scope="col">Assigned partitions</th>}
                </tr>
              </thead>
              <tbody>
                {data.members.map((m) => (
                  <tr key={m.id}>
                    <td>{m.id}</td>
                    <td>{m.clientId}</td>
                    <td>{m.host}</td>
                    {consumer && (
                      <td>
                        {m.assignments.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ')}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {consumer && <GroupLag group={data} reload={reload} />}
          <DeleteGroup id={id} />
        </>
      )}
    </section>
  );
}

/** The protocol types of consumer groups (as src/common/consumer-groups.ts). */
function isConsumerGroup(group: Group): boolean {
  return group.protocolType === 'consumer' || group.protocolType === '';
}

function GroupLag({ group: data, reload }: { group: Group; reload: () => void }) {
  return (
    <>
      <h2>Lag</h2>
      <table aria-label="Lag per partition">
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col" class="num">
              Partition
            </th>
            <th scope="col" class="num">
              Committed offset
            </th>
            <th scope="col" class="num">
              Log end offset
            </th>
            <th scope="col" class="num">
              Lag
            </th>
          </tr>
        </thead>
        <tbody>
          {data.offsets.map((o) => (
            <tr key={`${o.topic}/${o.partition}`} data-partition={`${o.topic}/${o.partition}`}>
              <td>{o.topic}</td>
              <td class="num">{o.partition}</td>
              <td class="num">{o.committed}</td>
              <td class="num">{o.end}</td>
              <td class="num">{o.lag}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <ResetOffsets group={data} onDone={reload} />
    </>
  );
}
