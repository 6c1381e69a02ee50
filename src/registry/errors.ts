/**
 * The one catalog of errors the Schema Registry answers, with Confluent's HTTP statuses and
 * `error_code`s, so that client libraries written for Confluent's registry recognise them.
 * Every message names the subject, version, id or field at fault.
 */

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly httpStatus: number;
  readonly errorCode: number;

  constructor(httpStatus: number, errorCode: number, message: string) {
    super(message);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const errors = {
  badRequest: (message: string) => new RegistryError(400, 400, message),
  subjectNotFound: (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`),
  versionNotFound: (subject: string, version: number | string) =>
    new RegistryError(404, 40402, `Version ${version} not found for subject '${subject}'.`),
  schemaNotFound: (detail = 'Schema not found') => new RegistryError(404, 40403, detail),
  subjectSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40404,
      `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
    ),
  subjectNotSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      40405,
      `Subject '${subject}' was not deleted first before being permanently deleted`,
    ),
  versionSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40406,
      `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`,
    ),
  versionNotSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      40407,
      `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
    ),
  subjectConfigNotFound: (subject: string) =>
    new RegistryError(
      404,
      40408,
      `Subject '${subject}' does not have subject-level compatibility configured`,
    ),
  subjectModeNotFound: (subject: string) =>
    new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`),
  incompatible: (subject: string, messages: readonly string[]) =>
    new RegistryError(
      409,
      409,
      `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${messages.join(', ')}]`,
    ),
  invalidSchema: (message: string) => new RegistryError(422, 42201, `Invalid schema: ${message}`),
  invalidVersion: (version: string) =>
    new RegistryError(
      422,
      42202,
      `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    ),
  invalidCompatibility: (level: string) =>
    new RegistryError(
      422,
      42203,
      `Invalid compatibility level '${level}'. Valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE`,
    ),
  invalidMode: (mode: string) =>
    new RegistryError(
      422,
      42204,
      `Invalid mode '${mode}'. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT`,
    ),
  notPermitted: (message: string) => new RegistryError(422, 42205, message),
  referenceExists: (subject: string, version: number, referencedBy: string) =>
    new RegistryError(
      422,
      42206,
      `One or more references exist to the schema {subject=${subject}, version=${version}}: ${referencedBy}`,
    ),
  idInUse: (id: number) =>
    new RegistryError(
      422,
      42207,
      `Overwrite new schema with id ${id} is not permitted: that id holds another schema`,
    ),
  invalidSubject: (subject: string, why: string) =>
    new RegistryError(422, 42208, `Invalid subject '${subject}': ${why}`),
  tooLarge: (limitBytes: number) =>
    new RegistryError(
      422,
      42209,
      `Request body over SCHEMA_REQUEST_BYTES_MAX (${limitBytes} bytes): send a smaller schema`,
    ),
  contextNotEmpty: (context: string) =>
    new RegistryError(422, 42211, `Context '${context}' is not empty: delete its subjects first`),
  store: (message: string) => new RegistryError(500, 50001, `Error in the backend data store: ${message}`),
  forwardingFailed: (leaderUrl: string, why: string) =>
    new RegistryError(500, 50003, `Error while forwarding the request to the leader ${leaderUrl}: ${why}`),
  unknownLeader: (why: string) => new RegistryError(500, 50004, `Unknown leader: ${why}`),
} as const;
