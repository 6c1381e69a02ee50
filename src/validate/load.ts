/**
 * Loads a stack the way `docker compose --env-file F config` does, without Docker: the
 * root file, then every file it names under `include:` (paths relative to the including
 * file), each interpolated from the env file and checked against the Compose schema.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { type EnvFile, readEnvFile } from './env-file.ts';
import { InputError } from './errors.ts';
import { interpolate } from './interpolate.ts';
import { checkComposeSchema } from './schema.ts';
import { type ComposeFile, isMap, type Service, type Stack, type VariableReference } from './stack.ts';
import { type PathSegment, readYamlSource, type YamlSource } from './yaml-source.ts';

export interface LoadOptions {
  /** Root Compose file. */
  readonly file: string;
  /** Env file; when absent, `.env` beside the root file, else `.env.example`, else none. */
  readonly envFile?: string;
}

/** Bound on include depth, so a cycle or runaway chain stops with a message. */
const MAX_INCLUDE_DEPTH = 16;

export function loadStack(options: LoadOptions): Stack {
  const rootPath = resolve(options.file);
  const baseDir = dirname(rootPath);
  const display = (path: string): string => relative(baseDir, path) || path;
  const env = loadEnv(options.envFile, baseDir);
  const lookup = (name: string): string | undefined => env?.entries.get(name)?.value;

  const files: ComposeFile[] = [];
  const variables: VariableReference[] = [];
  const services: Service[] = [];

  const visit = (path: string, projectDir: string, depth: number, includedFrom?: string): ComposeFile => {
    if (depth > MAX_INCLUDE_DEPTH) {
      throw new InputError(
        includedFrom ?? display(path),
        undefined,
        `include chain deeper than ${MAX_INCLUDE_DEPTH}`,
      );
    }
    if (files.some((file) => file.source.path === path)) {
      throw new InputError(
        includedFrom ?? display(path),
        undefined,
        `${display(path)} is included twice (cycle?)`,
      );
    }
    const source = readYamlSource(path, display(path), includedFrom);
    const raw = source.data as Record<string, unknown>;
    const data = interpolateTree(raw, [], source, lookup, variables) as Record<string, unknown>;
    checkComposeSchema(source, data);
    const file: ComposeFile = { source, raw, data, projectDir };
    files.push(file);
    collectServices(file, services);
    for (const include of includesOf(file)) {
      const target = resolve(dirname(path), include.path);
      const where = `${source.displayPath}:${include.line}`;
      if (!existsSync(target)) {
        throw new InputError(
          source.displayPath,
          include.line,
          `include '${include.path}' not found (${display(target)})`,
        );
      }
      const childProjectDir =
        include.projectDirectory === undefined
          ? dirname(target)
          : resolve(dirname(path), include.projectDirectory);
      visit(target, childProjectDir, depth + 1, where);
    }
    return file;
  };

  const root = visit(rootPath, baseDir, 0);
  return { root, files, services, env, variables: dedupe(variables) };
}

function loadEnv(envFile: string | undefined, baseDir: string): EnvFile | undefined {
  if (envFile !== undefined) {
    const path = resolve(envFile);
    const inside = relative(baseDir, path);
    return readEnvFile(path, inside.startsWith('..') || isAbsolute(inside) ? envFile : inside);
  }
  for (const candidate of ['.env', '.env.example']) {
    const path = resolve(baseDir, candidate);
    if (existsSync(path)) return readEnvFile(path, candidate);
  }
  return undefined;
}

function interpolateTree(
  value: unknown,
  path: PathSegment[],
  source: YamlSource,
  lookup: (name: string) => string | undefined,
  variables: VariableReference[],
): unknown {
  if (typeof value === 'string') {
    let result: ReturnType<typeof interpolate>;
    try {
      result = interpolate(value, lookup);
    } catch (error) {
      throw new InputError(source.displayPath, source.lineOf(path), (error as Error).message);
    }
    if (result.uses.length > 0) {
      const line = source.lineOf(path);
      for (const use of result.uses) {
        variables.push({ ...use, file: source.displayPath, line, set: lookup(use.name) !== undefined });
      }
    }
    return result.value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => interpolateTree(item, [...path, index], source, lookup, variables));
  }
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = interpolateTree(item, [...path, key], source, lookup, variables);
    }
    return out;
  }
  return value;
}

interface IncludeEntry {
  readonly path: string;
  readonly projectDirectory: string | undefined;
  readonly line: number;
}

function includesOf(file: ComposeFile): IncludeEntry[] {
  const list = file.data.include;
  if (!Array.isArray(list)) return [];
  const entries: IncludeEntry[] = [];
  list.forEach((item: unknown, index) => {
    const line = file.source.lineOf(isMap(item) ? ['include', index, 'path'] : ['include', index]);
    if (typeof item === 'string') {
      entries.push({ path: item, projectDirectory: undefined, line });
    } else if (isMap(item)) {
      const paths = Array.isArray(item.path) ? item.path : [item.path];
      const projectDirectory =
        typeof item.project_directory === 'string' ? item.project_directory : undefined;
      for (const path of paths) {
        if (typeof path === 'string') entries.push({ path, projectDirectory, line });
      }
    }
  });
  return entries;
}

function collectServices(file: ComposeFile, services: Service[]): void {
  const rawServices = file.raw.services;
  const dataServices = file.data.services;
  if (!isMap(rawServices) || !isMap(dataServices)) return;
  for (const [name, data] of Object.entries(dataServices)) {
    const existing = services.find((service) => service.name === name);
    if (existing !== undefined) {
      throw new InputError(
        file.source.displayPath,
        file.source.lineOf(['services', name]),
        `service '${name}' is also defined in ${existing.file.source.displayPath}; Compose refuses duplicates across includes`,
      );
    }
    const raw = rawServices[name];
    services.push({ name, file, raw: isMap(raw) ? raw : {}, data: isMap(data) ? data : {} });
  }
}

/** An anchor used by three services is one reference in the file, reported once. */
function dedupe(variables: VariableReference[]): VariableReference[] {
  const seen = new Set<string>();
  return variables.filter((variable) => {
    const key = `${variable.name}\u0000${variable.file}\u0000${variable.line}\u0000${variable.fallback}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
