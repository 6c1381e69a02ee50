/**
 * The errors the testing API, its control endpoint and `kstack snapshot` report: one catalog,
 * each with a stable code, the HTTP status the control endpoint answers with, and a message
 * that names the fault and says what to do.
 */

export const TestingErrorCodes = {
  /** `brokers` other than 1 or 3, or another bad option. */
  OPTION_INVALID: 400,
  /** A snapshot name outside the allowed characters or length. */
  SNAPSHOT_NAME_INVALID: 400,
  /** A request body that is not what the endpoint takes. */
  REQUEST_INVALID: 400,
  SNAPSHOT_NOT_FOUND: 404,
  /** `clock.advance` on a cluster started without `clock: 'manual'`. */
  CLOCK_NOT_MANUAL: 409,
  /** An operation on a cluster already stopped. */
  STOPPED: 409,
  /** A fault on a node that is stopped (kill, stop) or running (restart). */
  NODE_STOPPED: 409,
  NODE_RUNNING: 409,
  /** pause of a paused node, resume of one that is not paused. */
  NODE_PAUSED: 409,
  NODE_NOT_PAUSED: 409,
  /** healClient of a client id without a cut. */
  CLIENT_CUT_NOT_FOUND: 404,
  /** A broker fault or wait asked of a one-broker test cluster. */
  NOT_A_CLUSTER: 409,
  /** isolate, slow, heal, pause, resume or a client cut on a cluster started without fault proxies (`faultProxies: false`). */
  FAULTS_OFF: 409,
  /** reset() on three brokers while a group still has members (its consumers are running). */
  GROUP_NOT_EMPTY: 409,
  /** reset() on three brokers refused by the cluster (a deletion the controller refused). */
  RESET_FAILED: 500,
  /** A wait (leader, ISR, ready) that did not see its condition in time. */
  WAIT_TIMED_OUT: 504,
  /** A data directory without a broker's data in it (`kstack snapshot` against the wrong folder). */
  DATA_DIR_INVALID: 400,
} as const;

export type TestingErrorCode = keyof typeof TestingErrorCodes;

export class KafkaTestingError extends Error {
  override readonly name = 'KafkaTestingError';
  readonly code: TestingErrorCode;

  constructor(code: TestingErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get httpStatus(): number {
    return TestingErrorCodes[this.code];
  }
}
