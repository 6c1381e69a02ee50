/**
 * The broker as the clients of one listener see it: the same services, except that Metadata,
 * FindCoordinator and DescribeCluster give this broker's address on that listener. Kafka does the
 * same: a client is always given the endpoints of the listener it connected to.
 */
import type { BrokerEndpoint, BrokerServices, MetadataView } from '../broker/services.ts';

export interface ListenerEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Delegates every member to the real object, with `this` bound to it (so private fields keep
 * working), except `metadata()`, whose `brokers()` and `aliveBrokers()` list this node at `endpoint`.
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
      const onThisListener = (broker: BrokerEndpoint): BrokerEndpoint =>
        broker.nodeId === nodeId ? { ...broker, host: endpoint.host, port: endpoint.port } : broker;
      const brokers = (): readonly BrokerEndpoint[] => image.brokers().map(onThisListener);
      const aliveBrokers = (): readonly BrokerEndpoint[] => image.aliveBrokers().map(onThisListener);
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
