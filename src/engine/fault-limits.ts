/**
 * The named limits and port layout of a supervised cluster (`kstack up --brokers N`), apart from
 * cluster.ts so that `kstack up --help` and `kstack fault` read them without loading a node.
 */
/** The first restart of a node that exited on its own waits this long; each further one twice as long. */
export const RESTART_BACKOFF_INITIAL_MS = 500;
/** The longest wait before a restart. */
export const RESTART_BACKOFF_MAX_MS = 30_000;
/** Exits on its own counted over this window for the crash-loop bound. */
export const CRASH_LOOP_WINDOW_MS = 120_000;
/** More exits on its own than this within CRASH_LOOP_WINDOW_MS: the supervisor gives up on the node. */
export const CRASH_LOOP_EXITS_MAX = 5;
/**
 * In a cluster with fault proxies (the default), each node's broker listener listens this far above its
 * public port, where its proxy listens (and what clients are given), and the proxy of its
 * controller listener (what the other nodes reach it by) listens PROXY_CONTROLLER_PORT_OFFSET above it.
 */
export const NODE_BROKER_PORT_OFFSET = 20;
export const PROXY_CONTROLLER_PORT_OFFSET = 70;
/** The fault-control HTTP endpoint listens this far above the first broker's port unless `--fault-port` says. */
export const FAULT_CONTROL_PORT_OFFSET = 10;

/** The wait before restart number `exits` (1 for the first) within the window. */
export function restartBackoffMs(exits: number): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_INITIAL_MS * 2 ** Math.max(0, exits - 1));
}

/** One node's exits on its own within CRASH_LOOP_WINDOW_MS, and what the supervisor does after each. */
export class ExitHistory {
  #exitsAtMs: number[] = [];

  /** Records an exit at `nowMs`: the wait before its restart, or null past the crash-loop bound (give up). */
  record(nowMs: number): { exits: number; backoffMs: number | null } {
    this.#exitsAtMs = [...this.#exitsAtMs.filter((at) => nowMs - at < CRASH_LOOP_WINDOW_MS), nowMs];
    const exits = this.#exitsAtMs.length;
    return { exits, backoffMs: exits > CRASH_LOOP_EXITS_MAX ? null : restartBackoffMs(exits) };
  }

  /** Forgets the exits (a node started by hand starts a fresh count). */
  clear(): void {
    this.#exitsAtMs = [];
  }
}
