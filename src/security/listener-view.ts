/**
 * The broker as the clients of one listener see it: the same services, except that Metadata,
 * FindCoordinator and DescribeCluster give the brokers' addresses on that listener. Kafka does the
 * same: a client is always given the endpoints of the listener it connected to, and a broker that
 * has no such listener is left out.
 */
import { MetadataImage } from '../broker/metadata-image.ts';
import type { BrokerEndpoint, BrokerServices, MetadataView } from '../broker/services.ts';

/**
 * Where `nodeId` is reached on `listenerName`, from its registration's endpoints: null if it
 * registered endpoints but none of that listener; undefined if it registered none (one node, whose
 * `host`/`port` serve every listener): the caller keeps the address it has.
 */
export function listenerEndpoint(
  image: MetadataView,
  nodeId: number,
  listenerName: string,
): ListenerEndpoint | null | undefined {
  if (!(image instanceof MetadataImage)) return undefined;
  const endpoints = image.endpointsOf(nodeId);
  if (endpoints === undefined) return undefined;
  const endpoint = endpoints.find((e) => e.name === listenerName);
  return endpoint === undefined ? null : { host: endpoint.host, port: endpoint.port };
}

/**
 * Whether a broker is registered and unfenced, whichever listener's view `image` is (a view lists
 * only the brokers that have its listener).
 */
export function isLiveBroker(image: MetadataView, nodeId: number): boolean {
  if (image instanceof MetadataImage) return !image.isFenced(nodeId);
  return image.aliveBrokers().some((broker) => broker.nodeId === nodeId);
}

/**
 * `brokers` as the clients of `listenerName` see them: each at its endpoint on that listener;
 * `missing` holds the brokers that have no such listener (left out of `listed`).
 */
export function brokersOnListener(
  image: MetadataView,
  brokers: readonly BrokerEndpoint[],
  listenerName: string,
): { listed: BrokerEndpoint[]; missing: Set<number> } {
  const listed: BrokerEndpoint[] = [];
  const missing = new Set<number>();
  for (const broker of brokers) {
    const endpoint = listenerEndpoint(image, broker.nodeId, listenerName);
    if (endpoint === null) missing.add(broker.nodeId);
    else
      listed.push(endpoint === undefined ? broker : { ...broker, host: endpoint.host, port: endpoint.port });
  }
  return { listed, missing };
}

export interface ListenerEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Delegates every member to the real object, with `this` bound to it (so private fields keep
 * working), except `metadata()`, whose `brokers()` and `aliveBrokers()` list this node at `endpoint`
 * and, once this node's registration lists its listeners, every broker at its endpoint on the
 * listener `endpoint` belongs to (brokers without that listener left out).
 */
export function listenerServices(
  services: BrokerServices,
  nodeId: number,
  endpoint: ListenerEndpoint,
): BrokerServices {
  const views = new WeakMap<MetadataView, MetadataView>();
  const viewOf = (image: MetadataView): MetadataView => {
    let view = views.get(image);
    if (view === undefined) {
      const own =
        image instanceof MetadataImage
          ? image.endpointsOf(nodeId)?.find((e) => e.host === endpoint.host && e.port === endpoint.port)
          : undefined;
      const onThisListener = (list: readonly BrokerEndpoint[]): readonly BrokerEndpoint[] => {
        const mine = list.map((broker) =>
          broker.nodeId === nodeId ? { ...broker, host: endpoint.host, port: endpoint.port } : broker,
        );
        return own === undefined ? mine : brokersOnListener(image, mine, own.name).listed;
      };
      const brokers = (): readonly BrokerEndpoint[] => onThisListener(image.brokers());
      const aliveBrokers = (): readonly BrokerEndpoint[] => onThisListener(image.aliveBrokers());
      view = delegate(image, { brokers: () => brokers, aliveBrokers: () => aliveBrokers });
      views.set(image, view);
    }
    return view;
  };
  return delegate(services, { metadata: (target) => () => viewOf(target.metadata()) });
}

type Replacements<T> = { readonly [name: string]: (target: T) => unknown };

function delegate<T extends object>(target: T, replaced: Replacements<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(replaced, property))
        return replaced[property]!(object);
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
