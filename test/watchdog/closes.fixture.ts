// A test file that closes what it opens: under the watchdog it passes and exits at once.
import net from 'node:net';
import { after, test } from 'node:test';

const server = net.createServer();
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('opens a server, closed by the file after hook', async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
