/** `--bootstrap-server HOST:PORT[,HOST:PORT...]`, as Kafka's tools take it. */
import { UsageError } from './cli-errors.ts';

export function parseBootstrap(text: string | undefined, help: string): string[] {
  if (text === undefined || text === '') {
    throw new UsageError(`--bootstrap-server HOST:PORT is required\n\n${help}`);
  }
  const servers = text.split(',').map((server) => server.trim());
  for (const server of servers) {
    const match = /^([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(server);
    if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new UsageError(`--bootstrap-server: '${server}' is not HOST:PORT (port 1-65535)`);
    }
  }
  return servers;
}

/** A positive whole number of milliseconds from a flag. */
export function parseTimeoutMs(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new UsageError(`--timeout-ms: '${text}' is not a positive whole number of milliseconds`);
  }
  return value;
}
