/**
 * The stack's network without a Docker engine: one network namespace per service (its "container"),
 * joined by a bridge inside a separate namespace that stands for `infra_net`, private addresses that
 * exist only inside those namespaces, and a private hosts file per service (`ip netns exec` bind-mounts
 * /etc/netns/<ns>/hosts over /etc/hosts) so that service names resolve by name only (REQ-MSG-003) and
 * `localhost` inside a container is that container. Published ports reach the host's 127.0.0.1 through
 * a forwarder: a TCP listener here, a Unix socket (files cross network namespaces) and forwarder.ts
 * inside the namespace. Nothing of the host's own network is changed: every namespace, interface, file
 * and socket made here is removed by `destroy()`, and `removeStale()` removes what a killed run left.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every namespace this module makes is named `kscc-<pid of the run>-<n>`. */
export const NAMESPACE_PREFIX = 'kscc-';
/** Private addresses of the services, inside the namespaces only (never routed anywhere). */
const SUBNET_PREFIX = '172.30.219.';
const SUBNET_BITS = 24;
const FIRST_HOST_OCTET = 11;
/** Bound on services in one stack: the /24 above, less the bridge-side numbering. */
export const SERVICES_MAX = 200;
const NETNS_ETC = '/etc/netns';
const FORWARDER = fileURLToPath(new URL('./forwarder.ts', import.meta.url));
const FORWARDER_READY_TIMEOUT_MS = 30_000;

export interface Container {
  readonly service: string;
  /** Names that resolve to this container on infra_net (service name, hostname, container_name). */
  readonly names: readonly string[];
  /** The hostname the container's processes see. */
  readonly hostname: string;
  readonly namespace: string;
  readonly address: string;
}

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed: ${(result.stderr || result.stdout || '').trim()}`);
  }
}

function namespaces(): string[] {
  const result = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (result.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NAMESPACE_PREFIX));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what runs in a namespace and deletes it, with its hosts folder. */
function removeNamespace(namespace: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split('\n').filter((text) => /^\d+$/.test(text))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  spawnSync('ip', ['netns', 'delete', namespace]);
  rmSync(join(NETNS_ETC, namespace), { recursive: true, force: true });
}

/** Removes the namespaces of earlier runs whose process is gone (a run killed with SIGKILL). */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const namespace of namespaces()) {
    const pid = Number(namespace.slice(NAMESPACE_PREFIX.length).split('-')[0]);
    if (pid === process.pid || (Number.isInteger(pid) && pidAlive(pid))) continue;
    removeNamespace(namespace);
    removed.push(namespace);
  }
  removeEmptyNetnsEtc();
  return removed;
}

function removeEmptyNetnsEtc(): void {
  if (existsSync(NETNS_ETC) && readdirSync(NETNS_ETC).length === 0) rmSync(NETNS_ETC, { recursive: true });
}

export interface ServiceNames {
  readonly service: string;
  readonly hostname: string | undefined;
  readonly containerName: string | undefined;
}

export class StackNetwork {
  readonly containers: readonly Container[];
  private readonly infra: string;
  private readonly socketDir: string;
  private readonly servers: net.Server[] = [];
  private readonly forwarders: ChildProcess[] = [];
  private created = false;

  constructor(services: readonly ServiceNames[], socketDir: string) {
    if (services.length > SERVICES_MAX) {
      throw new Error(`${services.length} services: at most ${SERVICES_MAX} fit the private /24`);
    }
    const base = `${NAMESPACE_PREFIX}${process.pid}-`;
    this.infra = `${base}net`;
    this.socketDir = socketDir;
    this.containers = services.map((entry, index) => {
      const names = [entry.service, entry.hostname, entry.containerName].filter(
        (name): name is string => name !== undefined && name !== '',
      );
      return {
        service: entry.service,
        names: [...new Set(names)],
        hostname: entry.hostname ?? entry.service,
        namespace: `${base}${index}`,
        address: `${SUBNET_PREFIX}${FIRST_HOST_OCTET + index}`,
      };
    });
  }

  container(service: string): Container {
    const found = this.containers.find((entry) => entry.service === service);
    if (found === undefined) throw new Error(`no container for service ${service}`);
    return found;
  }

  /** Makes infra_net (a bridge in its own namespace) and one namespace per service plugged into it. */
  create(): void {
    this.created = true;
    ip(['netns', 'add', this.infra]);
    ip(['-n', this.infra, 'link', 'add', 'name', 'br0', 'type', 'bridge']);
    ip(['-n', this.infra, 'link', 'set', 'br0', 'up']);
    const hosts = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      ...this.containers.map((entry) => `${entry.address}\t${entry.names.join(' ')}`),
    ];
    this.containers.forEach((entry, index) => {
      const bridgeSide = `v${index}`;
      ip(['netns', 'add', entry.namespace]);
      ip([
        '-n',
        this.infra,
        'link',
        'add',
        bridgeSide,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        entry.namespace,
      ]);
      ip(['-n', this.infra, 'link', 'set', bridgeSide, 'master', 'br0', 'up']);
      ip(['-n', entry.namespace, 'addr', 'add', `${entry.address}/${SUBNET_BITS}`, 'dev', 'eth0']);
      ip(['-n', entry.namespace, 'link', 'set', 'eth0', 'up']);
      ip(['-n', entry.namespace, 'link', 'set', 'lo', 'up']);
      const etc = join(NETNS_ETC, entry.namespace);
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, 'hosts'), `${hosts.join('\n')}\n`);
    });
  }

  /**
   * The argv that runs `argv` inside a service's container: its network namespace, its hosts file,
   * and its own hostname (a UTS namespace of its own).
   */
  wrap(service: string, argv: readonly string[]): string[] {
    const entry = this.container(service);
    return [
      'ip',
      'netns',
      'exec',
      entry.namespace,
      'unshare',
      '--uts',
      'sh',
      '-c',
      'hostname "$0" && exec "$@"',
      entry.hostname,
      ...argv,
    ];
  }

  /** Publishes `hostPort` on the host's 127.0.0.1 to the container's `containerPort`. */
  async publish(service: string, hostPort: number, containerPort: number): Promise<void> {
    const entry = this.container(service);
    mkdirSync(this.socketDir, { recursive: true });
    const socketPath = join(this.socketDir, `${service}-${containerPort}.sock`);
    rmSync(socketPath, { force: true });
    const [command, ...args] = this.wrap(service, [
      process.execPath,
      FORWARDER,
      socketPath,
      entry.address,
      String(containerPort),
    ]);
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.forwarders.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the forwarder of ${service}:${containerPort} did not start`)),
        FORWARDER_READY_TIMEOUT_MS,
      );
      let errors = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the forwarder of ${service}:${containerPort} exited (${code}): ${errors.trim()}`));
      });
    });
    const server = net.createServer((inbound) => {
      const outbound = net.connect({ path: socketPath });
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new Error(`${service}: published port 127.0.0.1:${hostPort} cannot be bound: ${error.message}`),
        ),
      );
      server.listen(hostPort, '127.0.0.1', () => resolve());
    });
  }

  /** Stops the forwarders, closes the host listeners, kills what still runs inside and removes it all. */
  destroy(): void {
    for (const server of this.servers) server.close();
    for (const child of this.forwarders) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
    if (!this.created) return;
    for (const entry of this.containers) removeNamespace(entry.namespace);
    removeNamespace(this.infra);
    rmSync(this.socketDir, { recursive: true, force: true });
    removeEmptyNetnsEtc();
  }
}
