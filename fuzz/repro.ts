/**
 * `node fuzz/repro.ts HOST:PORT HEX`: sends one request frame (hex, size prefix included, as the
 * fuzzer prints it) on a fresh connection and prints what came back: a response frame, a close, or
 * nothing within 10 s. For the minimal reproductions in fuzz/FINDINGS.md.
 */
import { WireConnection } from './wire.ts';

const [bootstrap, hexText] = process.argv.slice(2);
if (bootstrap === undefined || hexText === undefined || !/^[^:]+:\d+$/.test(bootstrap)) {
  process.stderr.write('usage: node fuzz/repro.ts HOST:PORT HEX\n');
  process.exit(2);
}
const [host, port] = bootstrap.split(':') as [string, string];
const connection = await WireConnection.open(host, Number(port), 5_000);
connection.send(Buffer.from(hexText.replace(/\s+/g, ''), 'hex'));
const outcome = await connection.next(10_000);
if ('frame' in outcome) {
  process.stdout.write(`response (${outcome.frame.length} bytes): ${outcome.frame.toString('hex')}\n`);
} else if ('closed' in outcome) process.stdout.write('the broker closed the connection\n');
else if ('timeout' in outcome) process.stdout.write('no response and no close within 10 s\n');
else process.stdout.write(`bad response frame: ${outcome.badFrame}\n`);
connection.destroy();
