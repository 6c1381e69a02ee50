/**
 * The loaded stack: every Compose file reached from the root through `include:`, each
 * file's data before and after interpolation, and every service with the file it was
 * written in. Rules read only this model; they never touch the disk except to open a
 * file that a service bind-mounts from the repository.
 */
import type { EnvFile } from './env-file.ts';
import type { VariableUse } from './interpolate.ts';
import type { PathSegment, YamlSource } from './yaml-source.ts';

export type YamlMap = Record<string, unknown>;

export interface ComposeFile {
  readonly source: YamlSource;
  /** The data as written (variables not yet substituted), merge keys applied. */
  readonly raw: YamlMap;
  /** The data after interpolation: what Compose would run. */
  readonly data: YamlMap;
  /** Directory that relative paths in this file resolve from (include's project_directory). */
  readonly projectDir: string;
}

export interface Service {
  readonly name: string;
  readonly file: ComposeFile;
  readonly raw: YamlMap;
  readonly data: YamlMap;
}

/** One `${NAME...}` reference, where it was written and whether the env file sets it. */
export interface VariableReference extends VariableUse {
  readonly file: string;
  readonly line: number;
  readonly set: boolean;
}

export interface Stack {
  readonly root: ComposeFile;
  readonly files: readonly ComposeFile[];
  readonly services: readonly Service[];
  readonly env: EnvFile | undefined;
  readonly variables: readonly VariableReference[];
}

/** A place in the stack that a finding points at. */
export interface Location {
  readonly file: string;
  readonly line: number;
}

export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function locate(service: Service, path: readonly PathSegment[]): Location {
  return {
    file: service.file.source.displayPath,
    line: service.file.source.lineOf(['services', service.name, ...path]),
  };
}

export function serviceByName(stack: Stack, name: string): Service | undefined {
  return stack.services.find((service) => service.name === name);
}
