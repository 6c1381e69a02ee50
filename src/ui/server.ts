/**
 * The web UI's HTTP service: `buildUi()` assembles the fastify app (the JSON API, the guard, the
 * built page), `startUi()` also listens. The page is static files from assets.ts; every path that
 * is not /api or a file gets index.html, so the page's own routes survive a reload.
 */
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { registerApi } from './api.ts';
import { builtAssets } from './assets.ts';
import { clusterWatch, registerClusterLive } from './cluster-live.ts';
import { registerConnectApi } from './connect.ts';
import { bodyTooLarge, notFound, UiError } from './errors.ts';
import { FaultWatch, registerFaultApi } from './faults.ts';
import { guardHook } from './guard.ts';
import { UiKafka } from './kafka.ts';
import { ratesWatch, registerRates } from './rates.ts';
import { RegistryClient } from './registry.ts';

/** `KAFKA_UI_PORT` in .env.example. */
export const UI_PORT_DEFAULT = 8080;
/** Largest request body the UI reads (UI_REQUEST_BODY_MAX_BYTES). */
export const REQUEST_BODY_MAX_BYTES = 1024 * 1024;
const HOST = '127.0.0.1';
/** No inline script or style, nothing from another origin: the page works offline. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface UiOptions {
  /** HOST:PORT[,HOST:PORT…] of the Kafka cluster. */
  readonly bootstrap: string;
  readonly schemaRegistryUrl?: string | undefined;
  readonly connectUrl?: string | undefined;
  /** The fault control of a `kstack up --brokers N` cluster (its Faults page). */
  readonly faultControlUrl?: string | undefined;
  /** Refuse every change (topics, offsets). */
  readonly readOnly?: boolean;
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Other host names the UI may be reached by (the Host header check). */
  readonly allowedHostNames?: readonly string[];
  /** The built page (default: built or found by assets.ts). */
  readonly assetsDir?: string;
  readonly kafkaRequestTimeoutMs?: number;
}

export interface Ui {
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

function toUiError(error: FastifyError): UiError {
  if (error instanceof UiError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return bodyTooLarge(REQUEST_BODY_MAX_BYTES);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new UiError(error.statusCode, error.code ?? 'UI_BAD_REQUEST', error.message);
  }
  return new UiError(500, 'UI_INTERNAL', `internal error: ${error.message}`);
}

export async function buildUi(options: UiOptions): Promise<Ui> {
  const host = options.host ?? HOST;
  const app = Fastify({ bodyLimit: REQUEST_BODY_MAX_BYTES, logger: false });
  const kafka = new UiKafka({
    bootstrap: options.bootstrap,
    ...(options.kafkaRequestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.kafkaRequestTimeoutMs }),
  });
  const registry =
    options.schemaRegistryUrl === undefined ? undefined : new RegistryClient(options.schemaRegistryUrl);
  const readOnly = options.readOnly ?? false;

  app.addHook(
    'onRequest',
    guardHook({
      host,
      readOnly,
      ...(options.allowedHostNames === undefined ? {} : { allowedHostNames: options.allowedHostNames }),
      port: () => {
        const address = app.server.address();
        return typeof address === 'object' && address !== null ? address.port : undefined;
      },
    }),
  );
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const failure = toUiError(error);
    // A bug, not bad input: its stack goes to stderr for the report.
    if (failure.status >= 500 && failure.code === 'UI_INTERNAL')
      process.stderr.write(`kstack ui: ${error.stack}\n`);
    void reply.code(failure.status).send(failure.body());
  });

  const rates = ratesWatch(kafka);
  registerApi(app, { kafka, registry, connectUrl: options.connectUrl, readOnly, rates });
  const faults = new FaultWatch({ bootstrap: options.bootstrap, faultControlUrl: options.faultControlUrl });
  registerFaultApi(app, faults, kafka);
  registerConnectApi(app, options.connectUrl);
  const clusterLive = clusterWatch(options.bootstrap);
  registerClusterLive(app, clusterLive);
  registerRates(app, rates);

  const root = options.assetsDir ?? (await builtAssets());
  await app.register(fastifyStatic, { root, wildcard: false, index: ['index.html'] });
  app.setNotFoundHandler((request, reply) => {
    if (request.method !== 'GET' || request.url.startsWith('/api/')) {
      const failure = notFound(`${request.method} ${request.url}`);
      return reply.code(404).send(failure.body());
    }
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  });

  return {
    app,
    async close() {
      await app.close();
      await faults.close();
      clusterLive.close();
      rates.close();
      await kafka.close();
    },
  };
}

export interface StartUiOptions extends UiOptions {
  /** Port (UI_PORT_DEFAULT when missing, 0 for any free port). */
  readonly port?: number;
}

/** Builds the UI and listens; `url` is where it serves, `close()` stops it and its Kafka clients. */
export async function startUi(options: StartUiOptions): Promise<{ url: string; close(): Promise<void> }> {
  const ui = await buildUi(options);
  const host = options.host ?? HOST;
  try {
    await ui.app.listen({ host, port: options.port ?? UI_PORT_DEFAULT });
  } catch (error) {
    await ui.close();
    throw error;
  }
  const address = ui.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => ui.close() };
}
