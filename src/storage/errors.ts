// Errors the partition log raises. An `InvariantViolation` means a bug (ours or the
// caller's) and must stop loudly; the others are answers a broker maps to Kafka errors.

/** A fetch, DeleteRecords or ListOffsets offset outside what the log holds: OFFSET_OUT_OF_RANGE (1). */
export class OffsetOutOfRangeError extends Error {
  readonly kafkaErrorCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'OffsetOutOfRangeError';
  }
}

/** A broken invariant (offsets going back, HW past LEO, an epoch going back). */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/** A closed log was used. */
export class LogClosedError extends Error {
  constructor(name: string) {
    super(`partition log ${name} is closed`);
    this.name = 'LogClosedError';
  }
}

export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantViolation(message());
}
