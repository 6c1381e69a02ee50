/**
 * Compose variable interpolation for one string: `$$` (a literal `$`), `$NAME`, `${NAME}`,
 * `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`,
 * `${NAME:+alternative}`, `${NAME+alternative}`. Defaults and alternatives may themselves
 * contain `${...}`. Nothing is read from the process environment: the caller passes the
 * lookup, so a validation run depends on the env file alone.
 */

export interface VariableUse {
  readonly name: string;
  /** How the reference behaves when the variable is unset. */
  readonly fallback: 'none' | 'default' | 'required';
  /** The message of `${NAME:?message}`, when given. */
  readonly requiredMessage?: string;
}

export interface Interpolated {
  readonly value: string;
  /** Every variable referenced, set or not, in order of appearance. */
  readonly uses: readonly VariableUse[];
  /** Variables that were unset where they were needed (no default applied). */
  readonly unset: readonly VariableUse[];
}

export type Lookup = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function interpolate(text: string, lookup: Lookup): Interpolated {
  const uses: VariableUse[] = [];
  const unset: VariableUse[] = [];
  const value = expand(text, lookup, uses, unset);
  return { value, uses, unset };
}

function expand(text: string, lookup: Lookup, uses: VariableUse[], unset: VariableUse[]): string {
  let output = '';
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char !== '$') {
      output += char;
      index += 1;
      continue;
    }
    const next = text[index + 1];
    if (next === '$') {
      output += '$';
      index += 2;
    } else if (next === '{') {
      const end = matchingBrace(text, index + 1);
      if (end < 0) throw new SyntaxError(`unclosed '\${' in '${text}'`);
      output += expandBraced(text.slice(index + 2, end), lookup, uses, unset);
      index = end + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      let end = index + 1;
      while (end < text.length && NAME_CHAR.test(text[end] ?? '')) end += 1;
      const name = text.slice(index + 1, end);
      output += resolvePlain(name, lookup, uses, unset);
      index = end;
    } else {
      output += '$';
      index += 1;
    }
  }
  return output;
}

/** Index of the `}` closing the `{` at `open`, counting nested `${...}`. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let index = open; index < text.length; index += 1) {
    if (text[index] === '{') depth += 1;
    else if (text[index] === '}') {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}

function resolvePlain(name: string, lookup: Lookup, uses: VariableUse[], unset: VariableUse[]): string {
  const use: VariableUse = { name, fallback: 'none' };
  uses.push(use);
  const value = lookup(name);
  if (value === undefined) unset.push(use);
  return value ?? '';
}

function expandBraced(body: string, lookup: Lookup, uses: VariableUse[], unset: VariableUse[]): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (match === null) throw new SyntaxError(`'\${${body}}' is not a valid variable reference`);
  const name = match[1] ?? '';
  const operator = match[2];
  const argument = match[3] ?? '';
  if (operator === undefined) return resolvePlain(name, lookup, uses, unset);
  const value = lookup(name);
  const colon = operator.startsWith(':');
  const missing = value === undefined || (colon && value === '');
  switch (operator.slice(-1)) {
    case '-': {
      uses.push({ name, fallback: 'default' });
      return missing ? expand(argument, lookup, uses, unset) : (value ?? '');
    }
    case '?': {
      const use: VariableUse = { name, fallback: 'required', requiredMessage: argument };
      uses.push(use);
      if (missing) unset.push(use);
      return value ?? '';
    }
    default: {
      uses.push({ name, fallback: 'default' });
      return missing ? '' : expand(argument, lookup, uses, unset);
    }
  }
}
