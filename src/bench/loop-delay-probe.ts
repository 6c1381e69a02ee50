/**
 * Preloaded into a broker the bench starts itself (`node --import <this file> bin/kstack.ts up`):
 * it watches the broker's event loop and answers over the IPC channel the bench opened.
 *   { type: 'loop-delay-reset' }  → starts a new window, answers { type: 'loop-delay-reset' }
 *   { type: 'loop-delay-report' } → answers { type: 'loop-delay', summary: LoopDelaySummary }
 * Without an IPC channel (started by hand) it does nothing. The channel is unreferenced, so
 * it never keeps the broker alive after a stop.
 */
import { LoopDelayMonitor } from './loop-delay.ts';

if (typeof process.send === 'function') {
  const monitor = new LoopDelayMonitor();
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'loop-delay-reset') {
      monitor.reset();
      process.send?.({ type: 'loop-delay-reset' });
    } else if (message.type === 'loop-delay-report') {
      process.send?.({ type: 'loop-delay', summary: monitor.summary() });
    }
  });
  process.channel?.unref();
}
