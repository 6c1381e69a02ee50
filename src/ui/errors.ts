/**
 * The one catalog of the UI server's errors. Every answer that is not a success is
 * `{error: {code, message, kafkaError?}}` with an HTTP status: `code` is stable (UI_* for the UI's
 * own checks, KAFKA_* and REGISTRY_* for what those services said), `message` names the fault, and
 * `kafkaError` carries Kafka's own error name and message verbatim when Kafka refused, `fields` a
 * service's refusal per field (Connect's config validation).
 */

export interface KafkaErrorDetail {
  /** Kafka's error name, e.g. INVALID_TOPIC_EXCEPTION. */
  readonly name: string;
  /** Kafka's numeric error code. */
  readonly code: number;
  /** The broker's own error message (CreateTopics and others carry one), or null. */
  readonly message: string | null;
}

/** One field a service refused, with its own messages. */
export interface FieldError {
  readonly field: string;
  readonly errors: readonly string[];
}

export class UiError extends Error {
  override readonly name = 'UiError';
  readonly status: number;
  readonly code: string;
  readonly kafkaError: KafkaErrorDetail | undefined;
  /** A service's refusal per field (Connect's config validation), shown beside each field. */
  readonly fields: readonly FieldError[] | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    kafkaError?: KafkaErrorDetail,
    fields?: readonly FieldError[],
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.kafkaError = kafkaError;
    this.fields = fields;
  }

  body(): {
    error: { code: string; message: string; kafkaError?: KafkaErrorDetail; fields?: readonly FieldError[] };
  } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.kafkaError === undefined ? {} : { kafkaError: this.kafkaError }),
        ...(this.fields === undefined ? {} : { fields: this.fields }),
      },
    };
  }
}

export const badRequest = (message: string): UiError => new UiError(400, 'UI_BAD_REQUEST', message);
export const notFound = (what: string): UiError => new UiError(404, 'UI_NOT_FOUND', `${what} does not exist`);
export const readOnly = (): UiError =>
  new UiError(403, 'UI_READ_ONLY', 'this UI runs with --read-only: changes are refused');
export const crossSite = (message: string): UiError => new UiError(403, 'UI_CROSS_SITE', message);
export const wrongHost = (host: string): UiError =>
  new UiError(
    421,
    'UI_WRONG_HOST',
    `Host '${host}' is not an address of this UI (refused so that another site cannot reach it by DNS rebinding)`,
  );
export const confirmationNeeded = (what: string): UiError =>
  new UiError(409, 'UI_CONFIRMATION_NEEDED', `${what}: type the name to confirm`);
export const groupHasMembers = (group: string, members: number): UiError =>
  new UiError(
    409,
    'UI_GROUP_HAS_MEMBERS',
    `group '${group}' has ${members} active member(s): stop its consumers before resetting its offsets`,
  );
export const registryMissing = (): UiError =>
  new UiError(
    404,
    'UI_NO_REGISTRY',
    'no Schema Registry configured: start the UI with --schema-registry-url',
  );
export const registryFailed = (status: number, message: string): UiError =>
  new UiError(status >= 400 && status < 500 ? status : 502, 'REGISTRY_ERROR', message);
export const bodyTooLarge = (limitBytes: number): UiError =>
  new UiError(413, 'UI_BODY_TOO_LARGE', `request body over ${limitBytes} bytes (UI_REQUEST_BODY_MAX_BYTES)`);
