/**
 * The inside half of a published port (`ports:`), started by network.ts inside a service's network
 * namespace: it listens on a Unix socket (a file, so the host's side can reach it across network
 * namespaces) and connects each accepted stream to the container's own address and port, as Docker's
 * port publishing does (to the container's interface, not its loopback).
 *   usage: node forwarder.ts SOCKET_PATH HOST PORT
 */
import net from 'node:net';

const [socketPath, host, portText] = process.argv.slice(2);
if (socketPath === undefined || host === undefined || !/^\d+$/.test(portText ?? '')) {
  process.stderr.write('usage: node forwarder.ts SOCKET_PATH HOST PORT\n');
  process.exit(2);
}
const port = Number(portText);
const server = net.createServer((inbound) => {
  const outbound = net.connect({ host, port });
  inbound.pipe(outbound).pipe(inbound);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
