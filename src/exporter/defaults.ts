/**
 * The exporter's defaults, apart from exporter.ts so that `kstack exporter` can parse its flags
 * (and refuse bad ones) without loading the Kafka client, prom-client and fastify.
 */

/** KAFKA_EXPORTER_PORT of `.env.example`: the Docker stack's kafka-exporter port. */
export const EXPORTER_PORT_DEFAULT = 9308;
