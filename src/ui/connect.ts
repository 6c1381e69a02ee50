/**
 * The Connect pages' server side: the UI as an HTTP client of a Kafka Connect worker's REST API
 * (`--connect-url`), and the `/api/connect/…` routes the page calls. Connect's own refusals are
 * passed on with its status and words (`CONNECT_ERROR`, its `error_code` and `message`); a create
 * is validated first by the worker (`PUT /connector-plugins/{class}/config/validate`) and refused
 * with each field's errors (`CONNECT_CONFIG_INVALID`, `fields`), so the page shows them per field.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest, confirmationNeeded, type FieldError, UiError } from './errors.ts';
import { messageOf, passedOnStatus, requestJson } from './http.ts';
import { serveWatch, Watch } from './watch.ts';

/** How often the worker is asked while a Connect page listens to `GET /api/connect/events`. */
export const CONNECT_WATCH_INTERVAL_MS = 1_000;

/** One request to the worker (a restart with includeTasks answers once the restarts are requested). */
export const CONNECT_TIMEOUT_MS = 30_000;
/** Connect's connector names: the UI refuses longer ones before asking (Connect has no bound; URLs do). */
export const CONNECTOR_NAME_MAX = 249;
/** Config entries of one connector the UI passes on. */
export const CONNECTOR_CONFIG_ENTRIES_MAX = 1_000;
const CONNECT_ACTIONS = ['pause', 'resume', 'stop', 'restart'] as const;

export const connectMissing = (): UiError =>
  new UiError(404, 'UI_NO_CONNECT', 'no Kafka Connect worker configured: start the UI with --connect-url');

export interface ConnectorTaskStatus {
  readonly id: number;
  readonly state: string;
  readonly worker_id: string;
  readonly trace?: string;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly connector: { readonly state: string; readonly worker_id: string; readonly trace?: string };
  readonly tasks: readonly ConnectorTaskStatus[];
  readonly type?: string;
}

export interface ConnectorInfo {
  readonly name: string;
  readonly config: Record<string, string>;
  readonly tasks: readonly { connector: string; task: number }[];
  readonly type?: string;
}

/** Connect's answers and refusals; 502 CONNECT_UNREACHABLE when the worker does not answer. */
export class ConnectClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const { answer } = await requestJson({
      method,
      url: `${this.url}${path}`,
      body,
      timeoutMs: CONNECT_TIMEOUT_MS,
      unreachable: (message) =>
        new UiError(
          502,
          'CONNECT_UNREACHABLE',
          `the Connect worker at ${this.url} did not answer: ${message}`,
        ),
      refused: (status, refusal, text) =>
        new UiError(
          passedOnStatus(status),
          'CONNECT_ERROR',
          `Connect refused (${status}): ${messageOf(refusal, text)}`,
        ),
    });
    if (answer === undefined) {
      throw new UiError(
        502,
        'CONNECT_INVALID',
        `${this.url}${path} answered no JSON: is it a Connect worker?`,
      );
    }
    return answer as T;
  }

  /** Connect's validation of a config: the fields with errors (none: valid). */
  async validate(config: Record<string, string>): Promise<FieldError[]> {
    const plugin = config['connector.class'];
    if (plugin === undefined || plugin === '') {
      return [
        { field: 'connector.class', errors: ['connector.class is required: the connector plugin to run'] },
      ];
    }
    const answer = await this.request<{
      error_count: number;
      configs: { value: { name: string; errors: string[] } }[];
    }>('PUT', `/connector-plugins/${encodeURIComponent(plugin)}/config/validate`, config);
    return answer.configs
      .filter((c) => c.value.errors.length > 0)
      .map((c) => ({ field: c.value.name, errors: c.value.errors }));
  }
}

function object(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest(`${what}: the body must be a JSON object`);
  return body as Record<string, unknown>;
}

function connectorName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > CONNECTOR_NAME_MAX) {
    throw badRequest(`name: a connector name of 1 to ${CONNECTOR_NAME_MAX} characters is required`);
  }
  return value;
}

/** A connector config: a JSON object of string values (numbers and booleans written as Connect reads them). */
function connectorConfig(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('config: a JSON object of config names and values is required');
  }
  const entries = Object.entries(value);
  if (entries.length > CONNECTOR_CONFIG_ENTRIES_MAX) {
    throw badRequest(
      `config: at most ${CONNECTOR_CONFIG_ENTRIES_MAX} entries (CONNECTOR_CONFIG_ENTRIES_MAX)`,
    );
  }
  const config: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v === 'string') config[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') config[key] = String(v);
    else throw badRequest(`config: '${key}' must be a string, number or boolean`);
  }
  return config;
}

const flag = (value: unknown, what: string): boolean => {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badRequest(`${what}: true or false`);
  return value;
};

const path = (name: string): string => `/connectors/${encodeURIComponent(name)}`;

/**
 * `GET /api/connect` (the worker's version and every connector with its state, tasks and type),
 * `GET /api/connect/plugins`, `GET /api/connect/connectors/:name` (config, status, topics and,
 * when the connector is STOPPED, its offsets), `POST /api/connect/validate` (`{config}`: the
 * fields with errors), `POST /api/connect/connectors` (`{name, config}`: validated, then created),
 * `POST /api/connect/connectors/:name/:action` (pause, resume, stop, restart with
 * `{includeTasks, onlyFailed}`), `POST /api/connect/connectors/:name/tasks/:task/restart`,
 * `POST /api/connect/connectors/:name/delete` (`{confirm: name}`),
 * `POST /api/connect/connectors/:name/offsets` (`{offsets}`: PATCH) and `…/offsets/reset` (DELETE).
 */
export function registerConnectApi(app: FastifyInstance, connectUrl: string | undefined): void {
  const client = connectUrl === undefined ? undefined : new ConnectClient(connectUrl);
  const need = (): ConnectClient => {
    if (client === undefined) throw connectMissing();
    return client;
  };

  const overview = async () => {
    const connect = need();
    const [worker, connectors] = await Promise.all([
      connect.request<{ version: string; commit: string; kafka_cluster_id: string }>('GET', '/'),
      connect.request<Record<string, { status: ConnectorStatus; info: ConnectorInfo }>>(
        'GET',
        '/connectors?expand=status&expand=info',
      ),
    ]);
    return {
      url: connect.url,
      worker,
      connectors: Object.values(connectors)
        .map(({ status, info }) => ({
          name: info.name,
          type: info.type ?? status.type ?? null,
          class: info.config['connector.class'] ?? null,
          state: status.connector.state,
          workerId: status.connector.worker_id,
          tasks: status.tasks.map((t) => ({ id: t.id, state: t.state, workerId: t.worker_id })),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  };
  app.get('/api/connect', overview);

  // Pushed: the same overview as server-sent `connect` events `{at, overview, error}`, every
  // CONNECT_WATCH_INTERVAL_MS while a page listens (one round shared by all) and at once after a change
  // made here; the pages read again what changed (a connector's state or tasks).
  if (client === undefined) {
    app.get('/api/connect/events', async () => {
      throw connectMissing();
    });
  } else {
    const watch = new Watch('the Connect pages', CONNECT_WATCH_INTERVAL_MS, async () => {
      try {
        return { at: Date.now(), overview: await overview(), error: null };
      } catch (error) {
        return { at: Date.now(), overview: null, error: (error as Error).message };
      }
    });
    serveWatch(app, '/api/connect/events', 'connect', watch);
    app.addHook('onResponse', async (request) => {
      if (request.method === 'POST' && request.url.startsWith('/api/connect/'))
        void watch.push().catch(() => {});
    });
    app.addHook('onClose', async () => watch.close());
  }

  app.get('/api/connect/plugins', async () =>
    need().request<{ class: string; type: string; version?: string }[]>(
      'GET',
      '/connector-plugins?connectorsOnly=true',
    ),
  );

  app.get<{ Params: { name: string } }>('/api/connect/connectors/:name', async (request) => {
    const connect = need();
    const name = connectorName(request.params.name);
    const [info, status, topics] = await Promise.all([
      connect.request<ConnectorInfo>('GET', path(name)),
      connect.request<ConnectorStatus>('GET', `${path(name)}/status`),
      connect
        .request<Record<string, { topics: string[] }>>('GET', `${path(name)}/topics`)
        .then((answer) => ({ topics: answer[name]?.topics ?? [], error: null }))
        .catch((error: Error) => ({ topics: [] as string[], error: error.message })),
    ]);
    // Connect 3.6+ reads offsets of a STOPPED connector only.
    const offsets =
      status.connector.state === 'STOPPED'
        ? await connect
            .request<{ offsets: unknown[] }>('GET', `${path(name)}/offsets`)
            .then((answer) => ({ offsets: answer.offsets, error: null }))
            .catch((error: Error) => ({ offsets: null, error: error.message }))
        : { offsets: null, error: null };
    return { info, status, topics, offsets };
  });

  app.post('/api/connect/validate', async (request) => {
    const config = connectorConfig(object(request.body, 'validate').config);
    return { fields: await need().validate(config) };
  });

  app.post('/api/connect/connectors', async (request, reply) => {
    const connect = need();
    const body = object(request.body, 'create connector');
    const name = connectorName(body.name);
    const config = connectorConfig(body.config);
    const fields = await connect.validate({ ...config, name });
    if (fields.length > 0) {
      throw new UiError(
        400,
        'CONNECT_CONFIG_INVALID',
        `Connect found ${fields.length} invalid field(s): ${fields.map((f) => `${f.field}: ${f.errors.join('; ')}`).join(' | ')}`,
        undefined,
        fields,
      );
    }
    const created = await connect.request<ConnectorInfo>('POST', '/connectors', { name, config });
    return reply.code(201).send(created);
  });

  app.post<{ Params: { name: string; action: string } }>(
    '/api/connect/connectors/:name/:action',
    async (request) => {
      const connect = need();
      const name = connectorName(request.params.name);
      const { action } = request.params;
      if (action === 'delete') {
        if (object(request.body, 'delete connector').confirm !== name)
          throw confirmationNeeded(`deleting connector '${name}'`);
        await connect.request('DELETE', path(name));
        return { deleted: name };
      }
      if (action === 'offsets') {
        const offsets = object(request.body, 'alter offsets').offsets;
        if (!Array.isArray(offsets)) throw badRequest('offsets: a list of {partition, offset} is required');
        return connect.request('PATCH', `${path(name)}/offsets`, { offsets });
      }
      if (!(CONNECT_ACTIONS as readonly string[]).includes(action)) {
        throw badRequest(`action: '${action}' is none of ${CONNECT_ACTIONS.join(', ')}, delete, offsets`);
      }
      if (action === 'restart') {
        const body = object(request.body, 'restart');
        const includeTasks = flag(body.includeTasks, 'includeTasks');
        const onlyFailed = flag(body.onlyFailed, 'onlyFailed');
        const answer = await connect.request<ConnectorStatus | null>(
          'POST',
          `${path(name)}/restart?includeTasks=${includeTasks}&onlyFailed=${onlyFailed}`,
        );
        return { restarted: name, status: answer };
      }
      await connect.request('PUT', `${path(name)}/${action}`);
      return { [action === 'stop' ? 'stopped' : `${action}d`]: name };
    },
  );

  app.post<{ Params: { name: string } }>('/api/connect/connectors/:name/offsets/reset', async (request) =>
    need().request('DELETE', `${path(connectorName(request.params.name))}/offsets`),
  );

  app.post<{ Params: { name: string; task: string } }>(
    '/api/connect/connectors/:name/tasks/:task/restart',
    async (request) => {
      const name = connectorName(request.params.name);
      if (!/^\d{1,9}$/.test(request.params.task))
        throw badRequest(`task: '${request.params.task}' is not a task id`);
      await need().request('POST', `${path(name)}/tasks/${request.params.task}/restart`);
      return { restarted: `${name}-${request.params.task}` };
    },
  );
}
