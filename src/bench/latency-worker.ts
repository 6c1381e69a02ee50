/**
 * A latency client role in its own process, forked by src/bench/latency.ts:
 * `node latency-worker.ts producer|consumer`, driven over the IPC channel (first message:
 * { type: 'start', config }). It exits when its role is done.
 */
import {
  type FromRole,
  type RoleChannel,
  type RoleConfig,
  runConsumerRole,
  runProducerRole,
  type ToRole,
} from './latency.ts';

const role = process.argv[2];
if ((role !== 'producer' && role !== 'consumer') || typeof process.send !== 'function') {
  process.stderr.write(
    'usage: forked by kstack bench with an IPC channel: latency-worker.ts producer|consumer\n',
  );
  process.exit(2);
}

const listeners: ((message: ToRole) => void)[] = [];
/** Messages not yet handed to the channel: the process must not leave before they are. */
const sending = new Set<Promise<void>>();
const channel: RoleChannel<ToRole, FromRole> = {
  send: (message) => {
    const sent = new Promise<void>((resolve) =>
      process.send?.(message, undefined, undefined, () => resolve()),
    );
    sending.add(sent);
    void sent.then(() => sending.delete(sent));
  },
  onMessage: (listener) => {
    listeners.push(listener);
  },
};

const config = await new Promise<RoleConfig>((resolve) => {
  process.on('message', (message: ToRole) => {
    if (message.type === 'start') resolve(message.config);
    else for (const listener of listeners) listener(message);
  });
});

try {
  await (role === 'producer' ? runProducerRole : runConsumerRole)(config, channel);
} catch (error) {
  channel.send({ type: 'error', message: String(error) });
  process.exitCode = 1;
}
await Promise.all(sending);
process.disconnect();
