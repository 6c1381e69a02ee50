/**
 * Starting and stopping the Schema Registry: what `kstack schema-registry` runs, and what
 * `kstack up` calls to serve it beside the embedded cluster.
 */
import type { FastifyInstance } from 'fastify';
import { buildRegistryApp } from './app.ts';
import { SchemaRegistry } from './registry.ts';
import { SchemaLog } from './schema-log.ts';

export const SCHEMA_REGISTRY_PORT_DEFAULT = 8081;

export interface SchemaRegistryOptions {
  /** Kafka bootstrap servers, HOST:PORT[,HOST:PORT…]. */
  readonly bootstrap: string;
  /** HTTP port; SCHEMA_REGISTRY_PORT_DEFAULT when missing, 0 for any free port. */
  readonly port?: number;
  /** HTTP address; 127.0.0.1 when missing. */
  readonly host?: string;
  /** The storage topic; `_schemas` when missing. */
  readonly topic?: string;
}

export interface RunningSchemaRegistry {
  readonly url: string;
  readonly registry: SchemaRegistry;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Reads `_schemas` (creating it when missing), then listens; rejects if either fails. */
export async function startSchemaRegistry(options: SchemaRegistryOptions): Promise<RunningSchemaRegistry> {
  const registry = new SchemaRegistry(new SchemaLog({ bootstrap: options.bootstrap, topic: options.topic }));
  try {
    await registry.start();
  } catch (error) {
    await registry.close();
    throw error;
  }
  const app = buildRegistryApp(registry);
  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: options.port ?? SCHEMA_REGISTRY_PORT_DEFAULT });
  } catch (error) {
    await registry.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${host}:${port}`,
    registry,
    app,
    async close() {
      await app.close();
      await registry.close();
    },
  };
}
