/**
 * The handler registry. Every file in this folder named `NN-name.ts` (NN the API key)
 * exports `handler`; the registry loads them all at broker start, so adding an API is
 * adding one file (no shared list to edit). The ApiVersions answer is built from the
 * registry's declarations, never written by hand.
 */
import { readdirSync } from 'node:fs';
import type { Handler } from '../handler.ts';

/** One row of the ApiVersions answer. */
export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

const HANDLER_FILE = /^(\d+)-[a-z0-9-]+\.ts$/;

export class HandlerRegistry {
  readonly #byKey = new Map<number, Handler>();
  #versions: readonly ApiVersionRange[] = [];

  constructor(handlers: Iterable<Handler>) {
    for (const handler of handlers) this.add(handler);
  }

  add(handler: Handler): void {
    if (this.#byKey.has(handler.apiKey)) {
      throw new Error(`two handlers for API key ${handler.apiKey} (${handler.name})`);
    }
    if (handler.minVersion > handler.maxVersion || handler.minVersion < 0) {
      throw new Error(
        `handler ${handler.name}: bad version range ${handler.minVersion}-${handler.maxVersion}`,
      );
    }
    this.#byKey.set(handler.apiKey, handler);
    this.#versions = [...this.#byKey.values()]
      .map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  get(apiKey: number): Handler | undefined {
    return this.#byKey.get(apiKey);
  }

  /** The advertised ranges, sorted by API key (the ApiVersions answer). */
  versions(): readonly ApiVersionRange[] {
    return this.#versions;
  }
}

/** Imports every `NN-name.ts` handler file of this folder. */
export async function loadHandlers(): Promise<HandlerRegistry> {
  const folder = new URL('./', import.meta.url);
  const files = readdirSync(folder)
    .filter((file) => HANDLER_FILE.test(file))
    .sort();
  const handlers: Handler[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, folder).href)) as { handler?: Handler };
    if (module.handler === undefined) throw new Error(`handler file ${file} exports no 'handler'`);
    const keyInName = Number(HANDLER_FILE.exec(file)?.[1]);
    if (keyInName !== module.handler.apiKey) {
      throw new Error(`handler file ${file} declares API key ${module.handler.apiKey}`);
    }
    handlers.push(module.handler);
  }
  return new HandlerRegistry(handlers);
}
