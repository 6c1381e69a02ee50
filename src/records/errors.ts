// Errors of the record-batch codec. `kind` is stable and is what callers branch on;
// `kafkaErrorCode` is the Kafka protocol error a broker answers a producer with.

export type RecordsErrorKind =
  /** magic 0 or 1 (message formats v0/v1): UNSUPPORTED_FOR_MESSAGE_FORMAT */
  | 'unsupportedMagic'
  /** the CRC-32C stored in the batch does not match its bytes: CORRUPT_MESSAGE */
  | 'crcMismatch'
  /** the data ends inside a batch or a record: CORRUPT_MESSAGE */
  | 'truncated'
  /** a length, count or field that cannot be right: CORRUPT_MESSAGE */
  | 'corrupt'
  /** record count, offsets deltas and record bytes disagree: INVALID_RECORD */
  | 'invalidRecord'
  /** the batch names a compression codec that does not exist: CORRUPT_MESSAGE */
  | 'unknownCompression'
  /** the records decompress to more than the named bound (a decompression bomb): MESSAGE_TOO_LARGE */
  | 'decompressedTooLarge'
  /** a record's timestamp is outside the topic's bounds, or of a type the producer may not set: INVALID_TIMESTAMP */
  | 'invalidTimestamp';

/** Kafka protocol error codes the kinds map to. */
export const KAFKA_ERROR = {
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  INVALID_RECORD: 87,
} as const;

export class RecordsError extends Error {
  readonly kind: RecordsErrorKind;
  constructor(kind: RecordsErrorKind, message: string) {
    super(message);
    this.name = 'RecordsError';
    this.kind = kind;
  }

  get kafkaErrorCode(): number {
    return kafkaErrorCodeFor(this.kind);
  }
}

export function kafkaErrorCodeFor(kind: RecordsErrorKind): number {
  switch (kind) {
    case 'unsupportedMagic':
      return KAFKA_ERROR.UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case 'invalidRecord':
      return KAFKA_ERROR.INVALID_RECORD;
    case 'decompressedTooLarge':
      return KAFKA_ERROR.MESSAGE_TOO_LARGE;
    case 'invalidTimestamp':
      return KAFKA_ERROR.INVALID_TIMESTAMP;
    default:
      return KAFKA_ERROR.CORRUPT_MESSAGE;
  }
}
