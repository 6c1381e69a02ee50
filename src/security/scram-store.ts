/**
 * SCRAM credentials as Kafka keeps them in KRaft: UserScramCredentialRecord and
 * RemoveUserScramCredentialRecord in the metadata log (salt, iterations, StoredKey, ServerKey; the
 * password itself is never stored), replayed at start so credentials survive a restart, and the
 * same records a cluster's brokers will all replay.
 */
import { type SlotKey, slotKey } from '../broker/services.ts';
import {
  SCRAM_ITERATIONS_MAX,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
} from './scram.ts';

/** The metadata records of SCRAM credentials (bytes as base64: the metadata log is JSON lines). */
export type ScramMetadataRecord =
  | {
      readonly type: 'UserScramCredentialRecord';
      readonly name: string;
      readonly mechanism: number;
      readonly salt: string;
      readonly storedKey: string;
      readonly serverKey: string;
      readonly iterations: number;
    }
  | { readonly type: 'RemoveUserScramCredentialRecord'; readonly name: string; readonly mechanism: number };

export function mechanismByType(type: number): ScramMechanism | undefined {
  for (const [name, info] of Object.entries(SCRAM_MECHANISMS))
    if (info.type === type) return name as ScramMechanism;
  return undefined;
}

/** Kafka's bounds on an upsertion's iterations, as AlterUserScramCredentials checks them. */
export function iterationsProblem(mechanism: ScramMechanism, iterations: number): string | null {
  const { minIterations } = SCRAM_MECHANISMS[mechanism];
  if (iterations < minIterations) return `Too few iterations: ${iterations} is below ${minIterations}`;
  if (iterations > SCRAM_ITERATIONS_MAX)
    return `Too many iterations: ${iterations} is above ${SCRAM_ITERATIONS_MAX}`;
  return null;
}

export class ScramCredentialStore {
  /** By user, then by mechanism. */
  readonly #users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  readonly #commit: (records: readonly ScramMetadataRecord[]) => boolean | undefined;

  /**
   * `commit` appends records to the metadata log (fsynced) before they are applied here; it returns
   * false when they take effect only once replayed (a cluster's quorum commits them later, or refuses).
   */
  constructor(commit: (records: readonly ScramMetadataRecord[]) => boolean | undefined) {
    this.#commit = commit;
  }

  /** Applies replayed records (any metadata record; the SCRAM ones are kept). */
  replay(records: Iterable<{ readonly type: string }>): void {
    for (const record of records) this.#apply(record);
  }

  #apply(record: { readonly type: string }): void {
    if (record.type === 'UserScramCredentialRecord') {
      const scram = record as Extract<ScramMetadataRecord, { type: 'UserScramCredentialRecord' }>;
      const mechanism = mechanismByType(scram.mechanism);
      if (mechanism === undefined) return;
      let byMechanism = this.#users.get(scram.name);
      if (byMechanism === undefined) {
        byMechanism = new Map();
        this.#users.set(scram.name, byMechanism);
      }
      byMechanism.set(mechanism, {
        salt: Buffer.from(scram.salt, 'base64'),
        storedKey: Buffer.from(scram.storedKey, 'base64'),
        serverKey: Buffer.from(scram.serverKey, 'base64'),
        iterations: scram.iterations,
      });
    } else if (record.type === 'RemoveUserScramCredentialRecord') {
      const scram = record as Extract<ScramMetadataRecord, { type: 'RemoveUserScramCredentialRecord' }>;
      const mechanism = mechanismByType(scram.mechanism);
      const byMechanism = this.#users.get(scram.name);
      if (mechanism === undefined || byMechanism === undefined) return;
      byMechanism.delete(mechanism);
      if (byMechanism.size === 0) this.#users.delete(scram.name);
    }
  }

  /** Writes records durably, then applies them (in a cluster: once replayed). */
  commit(records: readonly ScramMetadataRecord[]): void {
    if (records.length === 0) return;
    if (this.#commit(records) === false) return;
    for (const record of records) this.#apply(record);
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.#users.get(user)?.get(mechanism);
  }

  /** The mechanisms and iterations of a user's credentials (empty when none). */
  describe(user: string): { mechanism: number; iterations: number }[] {
    return [...(this.#users.get(user) ?? new Map<ScramMechanism, ScramCredential>())].map(
      ([mechanism, credential]) => ({
        mechanism: SCRAM_MECHANISMS[mechanism].type,
        iterations: credential.iterations,
      }),
    );
  }

  users(): string[] {
    return [...this.#users.keys()].sort();
  }
}

/** Where the broker keeps its store, for the handlers of API keys 50 and 51. */
export const SCRAM_CREDENTIALS: SlotKey<ScramCredentialStore> =
  slotKey<ScramCredentialStore>('scramCredentials');
