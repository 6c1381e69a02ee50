/**
 * Checks one Compose file against the Compose specification's JSON schema (draft-07), as
 * shipped in the `dclint` npm package (`schemas/compose.schema.json`, kept in step with
 * the compose-spec project). A schema error means Compose itself would refuse the file,
 * so it is unusable input (exit 2), reported at the line of the offending key.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { closest } from 'fastest-levenshtein';
import { InputError } from './errors.ts';
import type { PathSegment, YamlSource } from './yaml-source.ts';

let compiled: ValidateFunction | undefined;

function composeValidator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dclint/package.json'));
  const schema = JSON.parse(
    readFileSync(join(packageDir, 'schemas', 'compose.schema.json'), 'utf8'),
  ) as Record<string, unknown>;
  // The file names its meta-schema by an https URL Ajv does not register; the schema is
  // draft-07, which is Ajv's default, so the reference is dropped rather than fetched.
  delete schema.$schema;
  const ajv = new AjvModule.default({ allErrors: true, strict: false, verbose: true });
  compiled = ajv.compile(schema);
  return compiled;
}

export function checkComposeSchema(source: YamlSource, data: unknown): void {
  const validate = composeValidator();
  if (validate(data)) {
    checkDurations(source, data);
    return;
  }
  const error = mostUseful(validate.errors ?? []);
  if (error === undefined) return;
  const path = pointerToPath(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const hint = known.length > 0 ? `; did you mean '${closest(key, known)}'?` : '';
    throw new InputError(
      source.displayPath,
      source.lineOf([...path, key]),
      `${describe(path)} has a key the Compose specification does not know: '${key}'${hint}`,
    );
  }
  throw new InputError(
    source.displayPath,
    source.lineOf(path),
    `${describe(path)} ${error.message ?? 'is invalid'} (Compose specification schema)`,
  );
}

/** An unknown key says most; otherwise the error deepest in the document. */
function mostUseful(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const unknownKey = errors.find((error) => error.keyword === 'additionalProperties');
  if (unknownKey !== undefined) return unknownKey;
  const specific = errors.filter((error) => !['oneOf', 'anyOf', 'if'].includes(error.keyword));
  const candidates = specific.length > 0 ? specific : errors;
  return [...candidates].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

function describe(path: readonly PathSegment[]): string {
  return path.length === 0 ? 'the file' : path.join('.');
}

/**
 * Go's duration syntax, which Compose parses durations with (`time.ParseDuration`): "0", or a signed
 * sequence of decimal numbers each with a unit (ns, us, µs, ms, s, m, h), e.g. "1m30s".
 */
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/** Where a service holds durations (the schema types them as plain strings; Compose refuses bad ones). */
const SERVICE_DURATION_PATHS: readonly (readonly string[])[] = [
  ['healthcheck', 'interval'],
  ['healthcheck', 'timeout'],
  ['healthcheck', 'start_period'],
  ['healthcheck', 'start_interval'],
  ['stop_grace_period'],
  ['deploy', 'restart_policy', 'delay'],
  ['deploy', 'restart_policy', 'window'],
  ['deploy', 'update_config', 'delay'],
  ['deploy', 'update_config', 'monitor'],
  ['deploy', 'rollback_config', 'delay'],
  ['deploy', 'rollback_config', 'monitor'],
];

function checkDurations(source: YamlSource, data: unknown): void {
  const services = (data as { services?: Record<string, unknown> } | null)?.services ?? {};
  for (const [name, service] of Object.entries(services)) {
    for (const path of SERVICE_DURATION_PATHS) {
      let value: unknown = service;
      for (const key of path) value = (value as Record<string, unknown> | null | undefined)?.[key];
      if (typeof value !== 'string' || GO_DURATION.test(value)) continue;
      const fullPath = ['services', name, ...path];
      throw new InputError(
        source.displayPath,
        source.lineOf(fullPath),
        `${describe(fullPath)} is '${value}', not a duration Compose can read (e.g. 10s, 1m30s, 500ms)`,
      );
    }
  }
}
