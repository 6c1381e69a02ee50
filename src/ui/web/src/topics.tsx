/** Topics: the list with a filter and the create form; one topic's partitions, configs and messages. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type Config, type Message, type Partition, post, type TopicRow } from './api.tsx';
import { ErrorBox, formatBytes, formatTime, Loading, useApi } from './common.tsx';

function CreateTopic({ onCreated }: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('');
  const [replicationFactor, setReplicationFactor] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await post('/api/topics', {
        name,
        // Empty: the broker's num.partitions and default.replication.factor (the baseline defaults).
        partitions: partitions === '' ? -1 : Number(partitions),
        replicationFactor: replicationFactor === '' ? -1 : Number(replicationFactor),
      });
      onCreated(name);
      setName('');
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">Create a topic</h2>
      <div class="field">
        <label for="create-name">Topic name</label>
        <input
          id="create-name"
          name="name"
          value={name}
          required
          aria-describedby="create-error"
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="create-partitions">Partitions</label>
        <input
          id="create-partitions"
          name="partitions"
          inputMode="numeric"
          placeholder="broker default"
          value={partitions}
          onInput={(e) => setPartitions((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="create-replication">Replication factor</label>
        <input
          id="create-replication"
          name="replicationFactor"
          inputMode="numeric"
          placeholder="broker default"
          value={replicationFactor}
          onInput={(e) => setReplicationFactor((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        Create topic
      </button>
      <div id="create-error">
        <ErrorBox message={error} />
      </div>
    </form>
  );
}

export function TopicsPage() {
  const { data, error, reload } = useApi<TopicRow[]>('/api/topics');
  const [filter, setFilter] = useState('');
  const [showInternal, setShowInternal] = useState(false);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const rows = useMemo(() => {
    const needle = filter.toLowerCase();
    return (data ?? []).filter((t) => (showInternal || !t.internal) && t.name.toLowerCase().includes(needle));
  }, [data, filter, showInternal]);
  return (
    <section aria-labelledby="topics-title">
      <h1 id="topics-title">Topics</h1>
      <CreateTopic
        onCreated={(name) => {
          setNotice(`Topic ${name} created.`);
          reload();
        }}
      />
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form class="inline" aria-label="Filter" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="topics-filter">Filter topics</label>
          <input
            id="topics-filter"
            type="search"
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </div>
        <label>
          <span>
            <input
              type="checkbox"
              checked={showInternal}
              onChange={(e) => setShowInternal((e.target as HTMLInputElement).checked)}
            />{' '}
            Show internal topics
          </span>
        </label>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </form>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="topics" />}
      {data !== undefined && (
        <div class="scroll">
          <table aria-label="Topics">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Partitions
                </th>
                <th scope="col" class="num">
                  Replication
                </th>
                <th scope="col" class="num">
                  Under-replicated
                </th>
                <th scope="col" class="num">
                  Messages
                </th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col" class="num">
                  Records/s (30 s)
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.name} data-topic={t.name}>
                  <td>
                    <a href={`#/topics/${encodeURIComponent(t.name)}`}>{t.name}</a>
                    {t.internal && <span class="tag">internal</span>}
                  </td>
                  <td class="num">{t.partitions}</td>
                  <td class="num">{t.replicationFactor}</td>
                  <td class="num">{t.underReplicated}</td>
                  <td class="num">{t.messages}</td>
                  <td class="num" title={t.bytes === null ? 'unknown' : `${t.bytes} bytes, all replicas`}>
                    {formatBytes(t.bytes)}
                  </td>
                  <td class="num">{t.recordsPerSecond === null ? '—' : t.recordsPerSecond.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">
            {rows.length} of {data.length} topics shown
          </p>
        </div>
      )}
    </section>
  );
}

/**
 * One message as a JSON document, as the page shows it (the key and value decoded, or hex; each cut at
 * the server's SHOWN_BYTES_MAX, which `truncated` says).
 */
function messageDocument(topic: string, m: Message): string {
  const shown = (v: Message['key']) => ({
    encoding: v.encoding,
    text: v.encoding === 'null' ? null : v.text,
    bytes: v.bytes,
    truncated: v.truncated,
    ...(v.schemaId === undefined ? {} : { schemaId: v.schemaId }),
  });
  return `${JSON.stringify(
    {
      topic,
      partition: m.partition,
      offset: m.offset,
      timestamp: m.timestamp,
      key: shown(m.key),
      value: shown(m.value),
      headers: m.headers,
    },
    null,
    2,
  )}\n`;
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function MessageActions({ topic, message }: { topic: string; message: Message }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const text = () => messageDocument(topic, message);
  return (
    <>
      <button
        type="button"
        aria-label={`Copy message ${message.offset}`}
        onClick={() =>
          void navigator.clipboard.writeText(text()).then(
            () => setCopied('copied'),
            (failure: unknown) => setCopied(`not copied: ${(failure as Error).message}`),
          )
        }
      >
        Copy
      </button>{' '}
      <button
        type="button"
        aria-label={`Download message ${message.offset}`}
        onClick={() => download(`${topic}-${message.partition}-${message.offset}.json`, text())}
      >
        Download
      </button>
      {copied !== undefined && (
        <span class="muted" role="status">
          {' '}
          {copied}
        </span>
      )}
    </>
  );
}

function Messages({ topic, partitions }: { topic: string; partitions: Partition[] }) {
  const [partition, setPartition] = useState('0');
  const [from, setFrom] = useState('beginning');
  const [at, setAt] = useState('');
  const [limit, setLimit] = useState('50');
  const [contains, setContains] = useState('');
  const [query, setQuery] = useState<string | undefined>(undefined);
  const { data, error } = useApi<{ messages: Message[]; start: string; end: string }>(query);
  const browse = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams({ partition, from, limit });
    if (from === 'offset') params.set('offset', at);
    if (from === 'timestamp') params.set('timestamp', String(Date.parse(at) || at));
    if (contains !== '') params.set('contains', contains);
    params.set('t', String(Date.now()));
    setQuery(`/api/topics/${encodeURIComponent(topic)}/messages?${params}`);
  };
  return (
    <section aria-labelledby="messages-title">
      <h2 id="messages-title">Messages</h2>
      <form class="inline" onSubmit={browse}>
        <div class="field">
          <label for="browse-partition">Partition</label>
          <select
            id="browse-partition"
            value={partition}
            onChange={(e) => setPartition((e.target as HTMLSelectElement).value)}
          >
            {partitions.map((p) => (
              <option key={p.partition} value={String(p.partition)}>
                {p.partition}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="browse-from">From</label>
          <select
            id="browse-from"
            value={from}
            onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}
          >
            <option value="beginning">the beginning</option>
            <option value="end">the end</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        </div>
        {(from === 'offset' || from === 'timestamp') && (
          <div class="field">
            <label for="browse-at">{from === 'offset' ? 'Offset' : 'Time (ISO 8601 or ms)'}</label>
            <input id="browse-at" value={at} onInput={(e) => setAt((e.target as HTMLInputElement).value)} />
          </div>
        )}
        <div class="field">
          <label for="browse-limit">How many</label>
          <input
            id="browse-limit"
            inputMode="numeric"
            value={limit}
            onInput={(e) => setLimit((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="browse-contains">Key, value or header contains</label>
          <input
            id="browse-contains"
            value={contains}
            onInput={(e) => setContains((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary">
          Show messages
        </button>
      </form>
      <ErrorBox message={error} />
      {data !== undefined && (
        <div class="scroll">
          <p class="muted" role="status">
            {data.messages.length} messages from offset {data.start} (log end {data.end})
          </p>
          <table aria-label="Messages">
            <thead>
              <tr>
                <th scope="col" class="num">
                  Offset
                </th>
                <th scope="col">Timestamp</th>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Headers</th>
                <th scope="col">Copy, download</th>
              </tr>
            </thead>
            <tbody>
              {data.messages.map((m) => (
                <tr key={m.offset} data-offset={m.offset}>
                  <td class="num">{m.offset}</td>
                  <td>{formatTime(m.timestamp)}</td>
                  <td>
                    <pre>{m.key.encoding === 'null' ? '(null)' : m.key.text}</pre>
                  </td>
                  <td>
                    <pre>{m.value.encoding === 'null' ? '(null)' : m.value.text}</pre>
                    <span class="tag">
                      {m.value.encoding}
                      {m.value.schemaId !== undefined && ` id ${m.value.schemaId}`}
                    </span>
                    {m.value.note !== undefined && <span class="muted"> {m.value.note}</span>}
                  </td>
                  <td>
                    {m.headers.map((h, i) => (
                      <div key={i}>
                        {h.key}: {h.value ?? '(null)'}
                      </div>
                    ))}
                  </td>
                  <td>
                    <MessageActions topic={topic} message={m} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SetConfig({ topic, configs, onDone }: { topic: string; configs: Config[]; onDone: () => void }) {
  const editable = configs.filter((c) => !c.readOnly);
  const [name, setName] = useState(editable[0]?.name ?? '');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setNotice(undefined);
    try {
      await post(`/api/topics/${encodeURIComponent(topic)}/configs`, { name, value });
      setNotice(`${name} set to ${value}.`);
      onDone();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Set a config">
      <div class="field">
        <label for="config-name">Config</label>
        <select
          id="config-name"
          value={name}
          onChange={(e) => setName((e.target as HTMLSelectElement).value)}
        >
          {editable.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="config-value">New value</label>
        <input
          id="config-value"
          value={value}
          aria-describedby="config-error"
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit">Set config</button>
      <div id="config-error">
        <ErrorBox message={error} />
      </div>
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </form>
  );
}

/** Header lines `key: value`, one per line. */
function parseHeaders(text: string): { key: string; value: string }[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const at = line.indexOf(':');
      return at < 0
        ? { key: line.trim(), value: '' }
        : { key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
    });
}

function Produce({
  topic,
  partitions,
  onDone,
}: {
  topic: string;
  partitions: Partition[];
  onDone: () => void;
}) {
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [subject, setSubject] = useState('');
  const [version, setVersion] = useState('latest');
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  // The registry's subjects, when the UI has a registry (else the field is not shown).
  const { data: schemas } = useApi<{ url: string; subjects: string[] }>('/api/schemas');
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setNotice(undefined);
    try {
      const written = await post<{
        partition: number;
        offset: string;
        schemaId?: number;
        schemaVersion?: number;
      }>(`/api/topics/${encodeURIComponent(topic)}/messages`, {
        partition,
        key: key === '' ? null : key,
        value,
        headers: parseHeaders(headers),
        ...(subject === '' ? {} : { valueSchema: { subject, version } }),
      });
      const through =
        written.schemaId === undefined
          ? ''
          : ` (schema id ${written.schemaId}, version ${written.schemaVersion})`;
      setNotice(`Written to partition ${written.partition} at offset ${written.offset}${through}.`);
      onDone();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <section aria-labelledby="produce-title">
      <h2 id="produce-title">Produce a message</h2>
      <form class="inline" onSubmit={submit}>
        <div class="field">
          <label for="produce-partition">Write to partition</label>
          <select
            id="produce-partition"
            value={partition}
            onChange={(e) => setPartition((e.target as HTMLSelectElement).value)}
          >
            <option value="">any (by key)</option>
            {partitions.map((p) => (
              <option key={p.partition} value={String(p.partition)}>
                {p.partition}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="produce-key">Key</label>
          <input id="produce-key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="produce-value">Value</label>
          <textarea
            id="produce-value"
            rows={3}
            value={value}
            onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        {schemas !== undefined && (
          <>
            <div class="field">
              <label for="produce-subject">Value schema (the value as JSON)</label>
              <select
                id="produce-subject"
                value={subject}
                onChange={(e) => setSubject((e.target as HTMLSelectElement).value)}
              >
                <option value="">none (the value as text)</option>
                {schemas.subjects.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="produce-version">Schema version</label>
              <input
                id="produce-version"
                value={version}
                disabled={subject === ''}
                onInput={(e) => setVersion((e.target as HTMLInputElement).value)}
              />
            </div>
          </>
        )}
        <div class="field">
          <label for="produce-headers">Headers (key: value per line)</label>
          <textarea
            id="produce-headers"
            rows={3}
            value={headers}
            onInput={(e) => setHeaders((e.target as HTMLTextAreaElement).value)}
          />
        </div>
        <button type="submit" class="primary">
          Produce
        </button>
      </form>
      <div id="produce-error">
        <ErrorBox message={error} />
      </div>
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </section>
  );
}

/** Messages the live tail keeps on the page (newest first); older ones drop off. */
const TAIL_WINDOW = 200;
/** The live tail's rows change at most this often, however fast messages come (a person reads no faster). */
const TAIL_RENDER_INTERVAL_MS = 250;

function LiveTail({ topic, partitions }: { topic: string; partitions: Partition[] }) {
  const [partition, setPartition] = useState('0');
  const [rows, setRows] = useState<Message[]>([]);
  const [source, setSource] = useState<EventSource | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [from, setFrom] = useState<string | undefined>(undefined);
  useEffect(() => () => source?.close(), [source]);
  const start = () => {
    setError(undefined);
    setRows([]);
    setFrom(undefined);
    const events = new EventSource(`/api/topics/${encodeURIComponent(topic)}/tail?partition=${partition}`);
    events.addEventListener('position', (event) => {
      setFrom((JSON.parse((event as MessageEvent<string>).data) as { offset: string }).offset);
    });
    // The rows render at most once every TAIL_RENDER_INTERVAL_MS, with every batch that came since:
    // at 2,000 messages/s the server sends about 600 small batches a second, and a render of the
    // window for each one kept the page busy (long tasks up to 1.1 s, typing up to 187 ms); once a
    // frame, the table's style and layout still took most of it (test/ui/sizes.long.ts).
    let pending: Message[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const fresh = pending;
      pending = [];
      if (events.readyState !== EventSource.CLOSED)
        setRows((previous) => [...fresh, ...previous].slice(0, TAIL_WINDOW));
    };
    events.addEventListener('messages', (event) => {
      const batch = JSON.parse((event as MessageEvent<string>).data) as Message[];
      pending = [...batch.reverse(), ...pending].slice(0, TAIL_WINDOW);
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, TAIL_RENDER_INTERVAL_MS);
      }
    });
    events.addEventListener('error', (event) => {
      const data = (event as MessageEvent<string | undefined>).data;
      setError(
        data === undefined
          ? 'The live tail stopped (connection lost).'
          : (JSON.parse(data) as { message: string }).message,
      );
      events.close();
      setSource(undefined);
    });
    setSource(events);
  };
  const stop = () => {
    source?.close();
    setSource(undefined);
  };
  return (
    <section aria-labelledby="tail-title">
      <h2 id="tail-title">Live tail</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="tail-partition">Tail partition</label>
          <select
            id="tail-partition"
            value={partition}
            disabled={source !== undefined}
            onChange={(e) => setPartition((e.target as HTMLSelectElement).value)}
          >
            {partitions.map((p) => (
              <option key={p.partition} value={String(p.partition)}>
                {p.partition}
              </option>
            ))}
          </select>
        </div>
        {source === undefined ? (
          <button type="button" onClick={start}>
            Start live tail
          </button>
        ) : (
          <button type="button" onClick={stop}>
            Stop live tail
          </button>
        )}
      </form>
      <ErrorBox message={error} />
      {source !== undefined && (
        <p class="muted" role="status">
          {from === undefined
            ? `Starting the tail of partition ${partition}…`
            : `Tailing partition ${partition} from offset ${from}: ${rows.length} new messages (the last ${TAIL_WINDOW} are kept)`}
        </p>
      )}
      {rows.length > 0 && (
        <div class="scroll">
          <table aria-label="Live tail">
            <thead>
              <tr>
                <th scope="col" class="num">
                  Offset
                </th>
                <th scope="col">Timestamp</th>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.offset}>
                  <td class="num">{m.offset}</td>
                  <td>{formatTime(m.timestamp)}</td>
                  <td>
                    <pre>{m.key.encoding === 'null' ? '(null)' : m.key.text}</pre>
                  </td>
                  <td>
                    <pre>{m.value.encoding === 'null' ? '(null)' : m.value.text}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeleteTopic({ name }: { name: string }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = async (event: Event) => {
    event.preventDefault();
    try {
      await post(`/api/topics/${encodeURIComponent(name)}/delete`, { confirm: typed });
      location.hash = '#/topics';
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="inline" onSubmit={remove} aria-labelledby="delete-title">
      <h2 id="delete-title">Delete this topic</h2>
      <div class="field">
        <label for="delete-confirm">Type the topic name to confirm</label>
        <input
          id="delete-confirm"
          value={typed}
          onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" class="danger" disabled={typed !== name}>
        Delete topic
      </button>
      <ErrorBox message={error} />
    </form>
  );
}

export function TopicPage({ name }: { name: string }) {
  const { data, error, reload } = useApi<{ partitions: Partition[]; configs: Config[] }>(
    `/api/topics/${encodeURIComponent(name)}`,
  );
  const [count, setCount] = useState('');
  const [partitionsError, setPartitionsError] = useState<string | undefined>(undefined);
  const addPartitions = async (event: Event) => {
    event.preventDefault();
    setPartitionsError(undefined);
    try {
      await post(`/api/topics/${encodeURIComponent(name)}/partitions`, { count: Number(count) });
      reload();
    } catch (failure) {
      setPartitionsError((failure as Error).message);
    }
  };
  return (
    <section aria-labelledby="topic-title">
      <p>
        <a href="#/topics">← Topics</a>
      </p>
      <h1 id="topic-title">{name}</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="the topic" />}
      {data !== undefined && (
        <>
          <h2>Partitions</h2>
          <div class="scroll">
            <table aria-label="Partitions">
              <thead>
                <tr>
                  <th scope="col" class="num">
                    Partition
                  </th>
                  <th scope="col" class="num">
                    Leader
                  </th>
                  <th scope="col">Replicas</th>
                  <th scope="col">In-sync replicas</th>
                  <th scope="col" class="num">
                    First offset
                  </th>
                  <th scope="col" class="num">
                    End offset
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.partitions.map((p) => (
                  <tr key={p.partition}>
                    <td class="num">{p.partition}</td>
                    <td class="num">{p.leader < 0 ? 'none' : p.leader}</td>
                    <td>{p.replicas.join(', ')}</td>
                    <td>{p.isr.join(', ')}</td>
                    <td class="num">{p.beginning}</td>
                    <td class="num">{p.end}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <form class="inline" onSubmit={addPartitions}>
            <div class="field">
              <label for="partitions-count">Partitions in total</label>
              <input
                id="partitions-count"
                inputMode="numeric"
                value={count}
                onInput={(e) => setCount((e.target as HTMLInputElement).value)}
              />
            </div>
            <button type="submit">Add partitions</button>
            <ErrorBox message={partitionsError} />
          </form>
          <Messages topic={name} partitions={data.partitions} />
          <LiveTail topic={name} partitions={data.partitions} />
          <Produce topic={name} partitions={data.partitions} onDone={reload} />
          <h2>Configs</h2>
          <div class="scroll">
            <table aria-label="Configs">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Value</th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {data.configs.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>{c.sensitive ? '(sensitive)' : (c.value ?? '(null)')}</td>
                    <td>{c.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <SetConfig topic={name} configs={data.configs} onDone={reload} />
          <DeleteTopic name={name} />
        </>
      )}
    </section>
  );
}
