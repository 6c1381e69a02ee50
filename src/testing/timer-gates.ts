/**
 * Per-node timer gates: what makes `broker(id).pause()` of an in-process cluster a real pause
 * (SIGSTOP's effect on the node itself), not only a network stall.
 *
 * The three nodes of a test cluster share the process, so a pause cannot stop a process. Instead
 * every node runs inside its own gate (an AsyncLocalStorage store entered when the harness builds
 * and starts it), and the timer functions are wrapped once: a timer, interval or socket idle
 * timeout created inside a gate, directly or by anything that async work of the node started
 * later (socket reads, promise continuations, other timers), runs its callback through that gate.
 * While the gate is closed a callback that falls due is held instead of run (an interval's at most
 * once, as a stopped process' timer thread fires once on SIGCONT); `open()` runs what was held, in
 * due order, before the network lets through what the fault proxies held (a Node process resumed
 * by SIGCONT runs its timers phase before polling its sockets). So a paused node elects nobody,
 * fences nobody, shrinks no ISR and expires no session until it is resumed; the system clock still
 * moves, so what falls due fires at once on resume, as after SIGCONT.
 *
 * Two places where Node itself drops the context, each of which let a node's Raft timer escape its
 * gate for good (a callback run outside the gate arms the next timer outside it too; the paused
 * quorum follower then went prospective, test/testing/pause.slow.ts): a socket a server accepts
 * (Node 24 runs its 'connection' listener in the server's context but the socket's own events,
 * 'data' included, in none), so every socket accepted inside a gate emits its events inside it;
 * and `open()`, whose held callbacks run in the context they were held in, not its caller's.
 *
 * Outside a gate (the test's own code, the fault proxies, other libraries) the wrapped functions
 * are the originals plus one AsyncLocalStorage lookup. Not held: setImmediate, process.nextTick and
 * promise jobs (continuations of work already under way, as a stopped process' kernel finishes its
 * I/O), node:timers/promises (not used by a node's code) and what the harness calls on the node.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Server, Socket } from 'node:net';

/** A node's gate: open, or closed and holding the callbacks that fall due meanwhile. */
export class TimerGate {
  readonly name: string;
  #closed = false;
  /** Held callbacks by their timer (a Map keeps them in the order they fell due). */
  readonly #held = new Map<object, () => void>();

  constructor(name: string) {
    this.name = name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Callbacks held now. */
  get held(): number {
    return this.#held.size;
  }

  /** Holds every callback of the gate's timers that falls due from now on. */
  close(): void {
    this.#closed = true;
  }

  /** Runs what was held, in the order it fell due, then lets callbacks run as they fall due. */
  open(): void {
    this.#closed = false;
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const callback of held) callback();
  }

  /** Forgets what was held (the node was stopped or killed while paused: its timers are gone). */
  discard(): void {
    this.#held.clear();
  }

  /** Runs `callback` for timer `key` now, or holds it (once per key) while closed. */
  fire(key: object, callback: () => void): void {
    if (this.#closed) {
      // Run later as now: inside this gate (and every other store), whoever calls open().
      if (!this.#held.has(key)) this.#held.set(key, AsyncLocalStorage.bind(callback));
      return;
    }
    callback();
  }

  /** The timer `key` was cleared: a held callback of it does not run. */
  cancel(key: object): void {
    this.#held.delete(key);
  }

  /** Runs `work` (and every async work it starts) inside this gate. */
  run<T>(work: () => T): T {
    installTimerGates();
    return gates.run(this, work);
  }
}

const gates = new AsyncLocalStorage<TimerGate>();

/** The gate of the code running now; undefined outside every node. */
export function currentTimerGate(): TimerGate | undefined {
  return gates.getStore();
}

let installed = false;

/** Wraps setTimeout, setInterval, their clear functions and sockets' idle timeouts, once per process. */
function installTimerGates(): void {
  if (installed) return;
  installed = true;
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  const realClearTimeout = globalThis.clearTimeout;
  const realClearInterval = globalThis.clearInterval;
  /** Which gate holds a timer's callback, by the handle its creator keeps. */
  const owners = new WeakMap<object, TimerGate>();

  const gatedSetTimeout = function (this: unknown, callback: unknown, delay?: number, ...args: unknown[]) {
    const gate = gates.getStore();
    if (gate === undefined || typeof callback !== 'function') {
      return Reflect.apply(realSetTimeout, this, [callback, delay, ...args]);
    }
    const handle: NodeJS.Timeout = realSetTimeout(() => gate.fire(handle, () => callback(...args)), delay);
    owners.set(handle, gate);
    return handle;
  };
  const gatedSetInterval = function (this: unknown, callback: unknown, delay?: number, ...args: unknown[]) {
    const gate = gates.getStore();
    if (gate === undefined || typeof callback !== 'function') {
      return Reflect.apply(realSetInterval, this, [callback, delay, ...args]);
    }
    const handle: NodeJS.Timeout = realSetInterval(() => gate.fire(handle, () => callback(...args)), delay);
    owners.set(handle, gate);
    return handle;
  };
  const gatedClear = (real: (handle?: NodeJS.Timeout) => void) => (handle?: unknown) => {
    if (typeof handle === 'object' && handle !== null) owners.get(handle)?.cancel(handle);
    real(handle as NodeJS.Timeout | undefined);
  };
  // Keep what the originals carry (util.promisify.custom, __promisify__).
  Object.defineProperties(gatedSetTimeout, Object.getOwnPropertyDescriptors(realSetTimeout));
  Object.defineProperties(gatedSetInterval, Object.getOwnPropertyDescriptors(realSetInterval));
  globalThis.setTimeout = gatedSetTimeout as typeof setTimeout;
  globalThis.setInterval = gatedSetInterval as typeof setInterval;
  globalThis.clearTimeout = gatedClear(realClearTimeout) as typeof clearTimeout;
  globalThis.clearInterval = gatedClear(realClearInterval) as typeof clearInterval;

  // A socket's idle timeout ('timeout' event) runs on Node's internal timers: hold its event too.
  const realSocketSetTimeout = Socket.prototype.setTimeout;
  const gatedSockets = new WeakSet<Socket>();
  Socket.prototype.setTimeout = function (this: Socket, ...args: Parameters<Socket['setTimeout']>) {
    const gate = gates.getStore();
    if (gate !== undefined && !gatedSockets.has(this)) {
      gatedSockets.add(this);
      const emit = this.emit;
      this.emit = function (this: Socket, event: string | symbol, ...rest: unknown[]): boolean {
        if (event !== 'timeout') return Reflect.apply(emit, this, [event, ...rest]);
        gate.fire(this, () => Reflect.apply(emit, this, [event, ...rest]));
        return true;
      } as Socket['emit'];
    }
    return Reflect.apply(realSocketSetTimeout, this, args);
  };

  // A socket accepted by a server inside a gate: its events run inside it (Node gives them none).
  const realServerEmit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connection' && args[0] instanceof Socket && gates.getStore() !== undefined) {
      emitInContext(args[0]);
    }
    return Reflect.apply(realServerEmit, this, [event, ...args]);
  } as Server['emit'];
}

/** Makes every event of `socket` from now on run in the context current now. */
function emitInContext(socket: Socket): void {
  const inContext = AsyncLocalStorage.snapshot();
  const emit = socket.emit;
  socket.emit = function (this: Socket, ...args: Parameters<Socket['emit']>): boolean {
    return inContext(() => Reflect.apply(emit, this, args));
  } as Socket['emit'];
}
