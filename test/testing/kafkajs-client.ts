/**
 * The kafkajs client the three-broker testing tests use: quiet, and retrying often and briefly, so
 * a client rides out a failover on a loaded CI machine instead of giving up at kafkajs' defaults.
 */
import { Kafka, logLevel } from 'kafkajs';

export function kafkajsClient(clientId: string, brokers: string[], retries = 30): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}
