// A test file that passes and leaves a server, a client socket and a child process open, so its process
// never exits by itself: watchdog.test.ts runs it under the watchdog, which must fail it and name them.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';

test('passes, and forgets what it opened', async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  process.stdout.write(`fixture child pid ${child.pid}\n`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  process.stdout.write(`fixture server port ${port}\n`);
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
});
