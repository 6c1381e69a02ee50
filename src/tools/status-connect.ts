/**
 * The Kafka Connect worker's part of `kstack status --connect-url URL`: whether the worker answers,
 * its version and Kafka cluster id (Connect's `GET /`), and each connector's state with its tasks'
 * (`GET /connectors?expand=status`). Connect's own REST API, so any worker will do.
 */

export interface ConnectorState {
  readonly name: string;
  readonly state: string;
  /** Task states by task id order. */
  readonly tasks: readonly string[];
}

export type ConnectStatus =
  | {
      readonly url: string;
      readonly answering: true;
      readonly version: string;
      readonly kafkaClusterId: string;
      readonly connectors: readonly ConnectorState[];
    }
  | { readonly url: string; readonly answering: false; readonly reason: string };

interface ExpandedStatus {
  status?: { connector?: { state?: string }; tasks?: { id: number; state: string }[] };
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}

/** Never rejects: a worker that does not answer (or answers wrongly) is `answering: false`, with why. */
export async function readConnectStatus(url: string, timeoutMs: number): Promise<ConnectStatus> {
  const base = url.replace(/\/+$/, '');
  try {
    const root = (await getJson(`${base}/`, timeoutMs)) as { version?: string; kafka_cluster_id?: string };
    const expanded = (await getJson(`${base}/connectors?expand=status`, timeoutMs)) as Record<
      string,
      ExpandedStatus
    >;
    const connectors = Object.entries(expanded)
      .map(([name, entry]) => ({
        name,
        state: entry.status?.connector?.state ?? 'UNKNOWN',
        tasks: [...(entry.status?.tasks ?? [])].sort((a, b) => a.id - b.id).map((task) => task.state),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      url: base,
      answering: true,
      version: root.version ?? 'unknown',
      kafkaClusterId: root.kafka_cluster_id ?? 'unknown',
      connectors,
    };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
    return { url: base, answering: false, reason: cause ?? (error as Error).message };
  }
}

/** The text lines of `kstack status` for the worker. */
export function connectStatusText(status: ConnectStatus): string[] {
  if (!status.answering) return [`Kafka Connect ${status.url}: not answering (${status.reason})`];
  const lines = [
    `Kafka Connect ${status.url}: version ${status.version}, cluster ${status.kafkaClusterId}, ${status.connectors.length} connector(s)`,
  ];
  for (const connector of status.connectors) {
    const tasks = connector.tasks.map((state, id) => `${id} ${state}`).join(', ');
    lines.push(`  ${connector.name}: ${connector.state}; tasks: ${tasks || 'none'}`);
  }
  return lines;
}
