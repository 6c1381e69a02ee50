/**
 * Connect: the worker's connectors with their state and tasks, its connector plugins, a connector
 * created from a JSON config (Connect's validation errors shown beside each field), and one
 * connector's page: state, worker and trace of each task, pause/resume/stop/restart (with its
 * tasks, only the failed ones), a task restarted, its topics, its config, its offsets while STOPPED
 * (read, altered, reset) and delete with its name typed again. Refusals are Connect's own words.
 * States are pushed: both pages read again when the server's `connect` events show a change.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type FieldError, post } from './api.tsx';
import { Card, ErrorBox, Loading, useApi, usePushed } from './common.tsx';

interface ConnectorRow {
  name: string;
  type: string | null;
  class: string | null;
  state: string;
  workerId: string;
  tasks: { id: number; state: string; workerId: string }[];
}

interface Overview {
  url: string;
  worker: { version: string; commit: string; kafka_cluster_id: string };
  connectors: ConnectorRow[];
}

interface Plugin {
  class: string;
  type: string;
  version?: string;
}

interface Connector {
  info: { name: string; config: Record<string, string>; type?: string };
  status: {
    connector: { state: string; worker_id: string; trace?: string };
    tasks: { id: number; state: string; worker_id: string; trace?: string }[];
  };
  topics: { topics: string[]; error: string | null };
  offsets: { offsets: unknown[] | null; error: string | null };
}

const EXAMPLE_CONFIG = `{
  "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
  "tasks.max": "1",
  "file": "/tmp/input.txt",
  "topic": "connect-lines"
}`;

/** What the server pushes (`GET /api/connect/events`, every second while a page listens and after a change). */
interface ConnectLive {
  at: number;
  overview: Overview | null;
  error: string | null;
}

/**
 * The connectors' names, states and tasks as last pushed ('' before the first push): a page reads its
 * data again when this changes, so states move on the page without a reload.
 */
function usePushedShape(only?: string): string {
  const { data } = usePushed<ConnectLive>('/api/connect/events', 'connect');
  if (data?.overview == null) return '';
  return JSON.stringify(
    data.overview.connectors
      .filter((c) => only === undefined || c.name === only)
      .map((c) => [c.name, c.state, c.workerId, c.tasks]),
  );
}

/** Calls `reload` whenever the pushed shape changes (not for the first push: the page has just read). */
function useReloadOnPush(reload: () => void, only?: string): void {
  const shape = usePushedShape(only);
  const [seen, setSeen] = useState('');
  useEffect(() => {
    if (shape === '' || shape === seen) return;
    if (seen !== '') reload();
    setSeen(shape);
  }, [shape, seen, reload]);
}

const tasksText = (tasks: ConnectorRow['tasks']): string =>
  tasks.length === 0 ? 'none' : tasks.map((t) => `${t.id}: ${t.state}`).join(', ');

function CreateConnector({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [text, setText] = useState(EXAMPLE_CONFIG);
  const [error, setError] = useState<string | undefined>(undefined);
  const [fields, setFields] = useState<FieldError[]>([]);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const parse = (): Record<string, unknown> | undefined => {
    try {
      const config = JSON.parse(text) as unknown;
      if (typeof config !== 'object' || config === null || Array.isArray(config)) {
        setError('Config: a JSON object of config names and values is required');
        return undefined;
      }
      return config as Record<string, unknown>;
    } catch (failure) {
      setError(`Config is not valid JSON: ${(failure as Error).message}`);
      return undefined;
    }
  };
  const run = async (create: boolean) => {
    setError(undefined);
    setNotice(undefined);
    setFields([]);
    const config = parse();
    if (config === undefined) return;
    try {
      if (create) {
        await post('/api/connect/connectors', { name, config });
        setNotice(`Connector ${name} created.`);
        onCreated();
      } else {
        const answer = await post<{ fields: FieldError[] }>('/api/connect/validate', {
          config: { ...config, name: name === '' ? 'validation' : name },
        });
        setFields(answer.fields);
        if (answer.fields.length === 0) setNotice('Connect found the config valid.');
      }
    } catch (failure) {
      setError((failure as Error).message);
      if (failure instanceof ApiError) setFields(failure.fields);
    }
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run(true);
      }}
      aria-labelledby="create-connector-title"
    >
      <h2 id="create-connector-title">Create a connector</h2>
      <div class="field">
        <label for="connector-name">Name</label>
        <input
          id="connector-name"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="connector-config">Config (JSON)</label>
        <textarea
          id="connector-config"
          rows={8}
          value={text}
          aria-invalid={fields.length > 0 || error !== undefined}
          aria-describedby="connector-config-errors"
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </div>
      <div id="connector-config-errors">
        {fields.length > 0 && (
          <table aria-label="Config errors">
            <thead>
              <tr>
                <th>Field</th>
                <th>Connect's error</th>
              </tr>
            </thead>
            <tbody>
              {fields.map((f) => (
                <tr key={f.field}>
                  <td>{f.field}</td>
                  <td>{f.errors.join(' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorBox message={error} />
      </div>
      <button type="button" onClick={() => void run(false)}>
        Validate
      </button>{' '}
      <button type="submit" class="primary" disabled={name.trim() === ''}>
        Create connector
      </button>
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </form>
  );
}

export function ConnectPage() {
  const overview = useApi<Overview>('/api/connect');
  const plugins = useApi<Plugin[]>('/api/connect/plugins');
  useReloadOnPush(overview.reload);
  const data = overview.data;
  return (
    <section aria-labelledby="connect-title">
      <h1 id="connect-title">Connect</h1>
      <ErrorBox message={overview.error} />
      {data === undefined && overview.error === undefined && <Loading what="the connectors" />}
      {data !== undefined && (
        <>
          <p class="muted">
            Connect worker {data.url}, version {data.worker.version}
          </p>
          <h2>Connectors</h2>
          {data.connectors.length === 0 ? (
            <p>No connectors.</p>
          ) : (
            <table aria-label="Connectors">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Type</th>
                  <th>State</th>
                  <th>Worker</th>
                  <th>Tasks</th>
                  <th>Class</th>
                </tr>
              </thead>
              <tbody>
                {data.connectors.map((c) => (
                  <tr key={c.name}>
                    <td>
                      <a href={`#/connect/${encodeURIComponent(c.name)}`}>{c.name}</a>
                    </td>
                    <td>{c.type ?? ''}</td>
                    <td>{c.state}</td>
                    <td>{c.workerId}</td>
                    <td>{tasksText(c.tasks)}</td>
                    <td>{c.class ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <button type="button" onClick={overview.reload}>
            Reload
          </button>
          <CreateConnector onCreated={overview.reload} />
        </>
      )}
      <h2>Connector plugins</h2>
      <ErrorBox message={plugins.error} />
      {plugins.data !== undefined && (
        <table aria-label="Connector plugins">
          <thead>
            <tr>
              <th>Class</th>
              <th>Type</th>
              <th>Version</th>
            </tr>
          </thead>
          <tbody>
            {plugins.data.map((p) => (
              <tr key={p.class}>
                <td>{p.class}</td>
                <td>{p.type}</td>
                <td>{p.version ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Offsets({
  name,
  connector,
  onChanged,
}: {
  name: string;
  connector: Connector;
  onChanged: () => void;
}) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const stopped = connector.status.connector.state === 'STOPPED';
  const act = async (reset: boolean) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const base = `/api/connect/connectors/${encodeURIComponent(name)}/offsets`;
      const answer = reset
        ? await post<{ message?: string }>(`${base}/reset`, {})
        : await post<{ message?: string }>(base, { offsets: JSON.parse(text) as unknown });
      setNotice(answer?.message ?? 'Done.');
      onChanged();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <>
      <h2 id="offsets-title">Offsets</h2>
      {!stopped && (
        <p class="muted">Stop the connector to read and change its offsets (Connect 3.6 and later).</p>
      )}
      <ErrorBox message={connector.offsets.error ?? undefined} />
      {connector.offsets.offsets !== null && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: scrolling offsets must be reachable by keyboard
        <section class="scroll-block" tabIndex={0} aria-label="Connector offsets">
          <pre id="connector-offsets">{JSON.stringify(connector.offsets.offsets, null, 2)}</pre>
        </section>
      )}
      {stopped && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(false);
          }}
          aria-labelledby="offsets-title"
        >
          <div class="field">
            <label for="offsets-text">New offsets (JSON list of {'{partition, offset}'})</label>
            <textarea
              id="offsets-text"
              rows={4}
              value={text}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            />
          </div>
          <button type="submit">Alter offsets</button>{' '}
          <button type="button" class="danger" onClick={() => void act(true)}>
            Reset offsets
          </button>
          <ErrorBox message={error} />
          {notice !== undefined && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
        </form>
      )}
    </>
  );
}

export function ConnectorPage({ name }: { name: string }) {
  const { data, error, reload } = useApi<Connector>(`/api/connect/connectors/${encodeURIComponent(name)}`);
  useReloadOnPush(reload, name);
  const [includeTasks, setIncludeTasks] = useState(false);
  const [onlyFailed, setOnlyFailed] = useState(false);
  const [typed, setTyped] = useState('');
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const base = `/api/connect/connectors/${encodeURIComponent(name)}`;
  const act = async (path: string, body: unknown, done: string) => {
    setActionError(undefined);
    setNotice(undefined);
    try {
      await post(`${base}/${path}`, body);
      setNotice(done);
      if (path === 'delete') {
        location.hash = '#/connect';
        return;
      }
      reload();
    } catch (failure) {
      setActionError((failure as Error).message);
    }
  };
  return (
    <section aria-labelledby="connector-title">
      <p>
        <a href="#/connect">← Connect</a>
      </p>
      <h1 id="connector-title">{name}</h1>
      <ErrorBox message={error} />
      {data === undefined && error === undefined && <Loading what="the connector" />}
      {data !== undefined && (
        <>
          <div class="cards">
            <Card label="State">
              <span id="connector-state">{data.status.connector.state}</span>
            </Card>
            <Card label="Worker">{data.status.connector.worker_id}</Card>
            <Card label="Type">{data.info.type ?? ''}</Card>
            <Card label="Tasks">{data.status.tasks.length}</Card>
          </div>
          {data.status.connector.trace !== undefined && (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling trace must be reachable by keyboard
            <section class="scroll-block" tabIndex={0} aria-label="Connector trace">
              <pre id="connector-trace">{data.status.connector.trace}</pre>
            </section>
          )}
          <form class="inline" onSubmit={(e) => e.preventDefault()} aria-label="Connector actions">
            <button type="button" onClick={() => void act('pause', {}, 'Pause requested.')}>
              Pause
            </button>
            <button type="button" onClick={() => void act('resume', {}, 'Resume requested.')}>
              Resume
            </button>
            <button type="button" onClick={() => void act('stop', {}, 'Stop requested.')}>
              Stop
            </button>
            <button
              type="button"
              onClick={() => void act('restart', { includeTasks, onlyFailed }, 'Restart requested.')}
            >
              Restart
            </button>
            <div class="field">
              <label>
                <input
                  type="checkbox"
                  checked={includeTasks}
                  onChange={(e) => setIncludeTasks((e.target as HTMLInputElement).checked)}
                />{' '}
                with its tasks
              </label>
            </div>
            <div class="field">
              <label>
                <input
                  type="checkbox"
                  checked={onlyFailed}
                  onChange={(e) => setOnlyFailed((e.target as HTMLInputElement).checked)}
                />{' '}
                only failed ones
              </label>
            </div>
            <button type="button" onClick={reload}>
              Reload
            </button>
          </form>
          <ErrorBox message={actionError} />
          {notice !== undefined && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          <h2>Tasks</h2>
          <table aria-label="Connector tasks">
            <thead>
              <tr>
                <th>Task</th>
                <th>State</th>
                <th>Worker</th>
                <th>Trace</th>
                <th>Action</th>
              </tr>
            </thead>
            <tbody>
              {data.status.tasks.map((t) => (
                <tr key={t.id}>
                  <td>{t.id}</td>
                  <td>{t.state}</td>
                  <td>{t.worker_id}</td>
                  <td>
                    {t.trace === undefined ? (
                      ''
                    ) : (
                      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling trace must be reachable by keyboard
                      <section class="scroll-block" tabIndex={0} aria-label={`Trace of task ${t.id}`}>
                        <pre>{t.trace}</pre>
                      </section>
                    )}
                  </td>
                  <td class="actions">
                    <button
                      type="button"
                      onClick={() => void act(`tasks/${t.id}/restart`, {}, `Task ${t.id} restart requested.`)}
                    >
                      Restart task {t.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Topics</h2>
          <ErrorBox message={data.topics.error ?? undefined} />
          {data.topics.topics.length === 0 ? (
            <p class="muted">No topics recorded yet.</p>
          ) : (
            <ul aria-label="Connector topics">
              {data.topics.topics.map((t) => (
                <li key={t}>
                  <a href={`#/topics/${encodeURIComponent(t)}`}>{t}</a>
                </li>
              ))}
            </ul>
          )}
          <h2>Config</h2>
          <table aria-label="Connector config">
            <thead>
              <tr>
                <th>Name</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(data.info.config)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td>{v}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <Offsets name={name} connector={data} onChanged={reload} />
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void act('delete', { confirm: typed }, 'Deleted.');
            }}
            aria-labelledby="delete-connector-title"
          >
            <h2 id="delete-connector-title">Delete this connector</h2>
            <div class="field">
              <label for="delete-connector-confirm">Type the connector name to confirm</label>
              <input
                id="delete-connector-confirm"
                value={typed}
                onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
              />
            </div>
            <button type="submit" class="danger" disabled={typed !== name}>
              Delete connector
            </button>
          </form>
        </>
      )}
    </section>
  );
}
