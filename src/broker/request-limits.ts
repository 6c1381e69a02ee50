import { KafkaErrors } from '../protocol/index.ts';

/**
 * New partitions one CreateTopics or CreatePartitions request may create, counted over
 * all its topics. Kafka's controller refuses more (KAFKA-17870, KAFKA-19673) because one
 * request must fit one metadata batch; here it also keeps a single request from holding
 * the event loop for minutes while it creates partition directories.
 */
export const NEW_PARTITIONS_PER_REQUEST_MAX = 10_000;

/** The answer Kafka gives to every topic of a request over the limit. */
export const EXCESSIVE_PARTITIONS = {
  errorCode: KafkaErrors.POLICY_VIOLATION.code,
  errorMessage: 'Excessively large number of partitions per request.',
} as const;
