// `kstack up --brokers 3` with its fault proxies and fault control, as the process-level scenario
// tests start it (quorum-isolation.slow.ts, follower-lag.slow.ts), and the control's POST.
// `kstack up --port P` lays its ports out as: brokers (their fault proxies) P..P+2, fault control
// P+10, the nodes' own broker listeners P+20.., controllers P+50.., their proxies P+70...
import { KstackProcess } from '../../src/engine/process.ts';
import { waitUntil } from './acked-load.ts';

const HOST = '127.0.0.1';
/** Generous: CI runs these on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 120_000;

export interface FaultCluster {
  readonly process: KstackProcess;
  /** The three front doors (fault proxies) clients bootstrap from. */
  readonly brokerPorts: readonly number[];
  /** Node N's own broker listener (behind no proxy). */
  ownBrokerPort(node: number): number;
  /** Node N's own controller listener. */
  ownControllerPort(node: number): number;
  /** POSTs a fault-control action (`/nodes/N/isolate`, …); a refusal is an Error naming it. */
  control(path: string, body?: object): Promise<void>;
}

/** Starts the cluster on `basePort` with `--override key=value` for each of `overrides`; waits for its fault control. */
export async function startFaultCluster(options: {
  readonly basePort: number;
  readonly dataDir: string;
  readonly overrides?: Readonly<Record<string, string>>;
}): Promise<FaultCluster> {
  const { basePort } = options;
  const brokerPorts = [basePort, basePort + 1, basePort + 2];
  const controlUrl = `http://${HOST}:${basePort + 10}`;
  const process = await KstackProcess.start(
    {
      args: [
        '--brokers',
        '3',
        '--no-compose',
        '--no-companions',
        '--port',
        String(basePort),
        '--data-dir',
        options.dataDir,
        ...Object.entries(options.overrides ?? {}).flatMap(([key, value]) => [
          '--override',
          `${key}=${value}`,
        ]),
      ],
      ports: brokerPorts,
      outputTailBytes: 4 * 1024 * 1024,
      faults: true,
    },
    READY_TIMEOUT_MS,
  );
  await waitUntil('the fault control line', () => process.notices.includes(`fault control on ${controlUrl}`));
  return {
    process,
    brokerPorts,
    ownBrokerPort: (node) => basePort + 20 + node - 1,
    ownControllerPort: (node) => basePort + 50 + node - 1,
    async control(path, body = {}) {
      const answer = await fetch(`${controlUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!answer.ok) throw new Error(`fault control ${path}: ${answer.status} ${await answer.text()}`);
    },
  };
}
