/**
 * Asks one advertised listener for Metadata (reference/probe.ts), run by run.ts inside a container's
 * network namespace so that the address is reached as another service on infra_net reaches it.
 *   usage: node probe-listener.ts HOST PORT TIMEOUT_MS   (prints the broker ids; exit 1 on failure)
 */
import { probeMetadata } from '../../reference/probe.ts';

const [host, port, timeout] = process.argv.slice(2);
try {
  const brokers = await probeMetadata(host ?? '', Number(port), Number(timeout ?? 5000));
  process.stdout.write(`brokers ${brokers.join(',')}\n`);
} catch (error) {
  process.stdout.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
