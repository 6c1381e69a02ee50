/**
 * The one catalog of errors the REST proxy answers with. Every error a client can see is a
 * `RestError`: an HTTP status, Confluent's `error_code` (a 5-digit code refining the status, or
 * the status itself where Confluent uses it plain) and a message naming the fault. The body is
 * always Confluent's `{"error_code": N, "message": "..."}`.
 */

export class RestError extends Error {
  override readonly name = 'RestError';
  readonly status: number;
  readonly errorCode: number;

  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }

  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const malformedJson = (detail: string): RestError =>
  new RestError(400, 400, `Malformed JSON in the request body: ${detail}`);
export const badRequest = (detail: string): RestError => new RestError(400, 40002, detail);
export const topicNotFound = (topic: string): RestError =>
  new RestError(404, 40401, `Topic not found: '${topic}' does not exist.`);
export const partitionNotFound = (topic: string, partition: number | string): RestError =>
  new RestError(404, 40402, `Partition not found: '${topic}' has no partition ${partition}.`);
export const consumerInstanceNotFound = (group: string, instance: string): RestError =>
  new RestError(404, 40403, `Consumer instance not found: '${instance}' in group '${group}'.`);
export const notFound = (what: string): RestError => new RestError(404, 404, `HTTP 404 Not Found: ${what}`);
export const clusterNotFound = (clusterId: string): RestError =>
  new RestError(404, 404, `Cluster ${clusterId} cannot be found.`);
export const groupNotFound = (group: string): RestError =>
  new RestError(404, 404, `Consumer group ${group} cannot be found.`);
export const methodNotAllowed = (method: string, url: string): RestError =>
  new RestError(405, 405, `HTTP 405 Method Not Allowed: ${method} ${url}`);
export const notAcceptable = (accept: string, offered: readonly string[]): RestError =>
  new RestError(
    406,
    406,
    `HTTP 406 Not Acceptable: Accept '${accept}' matches none of ${offered.join(', ')}`,
  );
export const consumerFormatMismatch = (instanceFormat: string, requested: string): RestError =>
  new RestError(
    406,
    40601,
    `The requested embedded data format (${requested}) does not match this consumer instance's format (${instanceFormat}).`,
  );
export const consumerAlreadySubscribed = (): RestError =>
  new RestError(
    409,
    40901,
    'Consumer cannot subscribe to the specified target because it has already subscribed to other topics or been assigned partitions.',
  );
export const consumerAlreadyExists = (group: string, instance: string): RestError =>
  new RestError(
    409,
    40902,
    `Consumer with specified consumer ID '${instance}' already exists in group '${group}'.`,
  );
export const illegalState = (detail: string): RestError =>
  new RestError(409, 40903, `Illegal state: ${detail}`);
export const topicAlreadyExists = (topic: string): RestError =>
  new RestError(400, 40002, `Topic '${topic}' already exists.`);
export const payloadTooLarge = (limitBytes: number): RestError =>
  new RestError(
    413,
    413,
    `HTTP 413 Payload Too Large: the body exceeds rest.request.body.max.bytes (${limitBytes} bytes)`,
  );
export const unsupportedMediaType = (contentType: string, accepted: readonly string[]): RestError =>
  new RestError(
    415,
    415,
    `HTTP 415 Unsupported Media Type: Content-Type '${contentType}' is none of ${accepted.join(', ')}`,
  );
/** A request entity that parses as JSON but is not what the endpoint takes (Confluent answers 422). */
export const unprocessable = (detail: string): RestError => new RestError(422, 422, detail);
export const keySchemaMissing = (): RestError =>
  new RestError(
    422,
    42201,
    'Request includes keys and uses a format that requires schemas, but does not include the key_schema or key_schema_id fields',
  );
export const valueSchemaMissing = (): RestError =>
  new RestError(
    422,
    42202,
    'Request includes values and uses a format that requires schemas, but does not include the value_schema or value_schema_id fields',
  );
export const invalidConsumerConfig = (detail: string): RestError =>
  new RestError(422, 42204, `Invalid consumer configuration: ${detail}`);
export const kafkaError = (detail: string): RestError => new RestError(500, 50002, `Kafka error: ${detail}`);
export const kafkaRetriableError = (detail: string): RestError =>
  new RestError(500, 50003, `Retriable Kafka error: ${detail}`);
export const requestTimedOut = (what: string, timeoutMs: number): RestError =>
  new RestError(504, 50002, `Kafka error: ${what} did not complete within ${timeoutMs} ms`);
