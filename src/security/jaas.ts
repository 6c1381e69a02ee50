/**
 * Kafka's JAAS configuration text, as `listener.name.<l>.<mechanism>.sasl.jaas.config` holds it:
 * `<LoginModule class> <flag> key="value" key=value ...;`. Only the options of the login modules
 * kstack serves matter (PlainLoginModule's `user_<name>="<password>"`).
 */

export interface JaasEntry {
  readonly loginModule: string;
  readonly flag: string;
  readonly options: ReadonlyMap<string, string>;
}

const FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);
/** A bound on the configuration text: far beyond any hand-written user list. */
export const JAAS_CONFIG_CHARS_MAX = 1_000_000;

/** A JAAS text that is not what Kafka's JaasConfig parser accepts; `setting` names where it came from. */
export class JaasConfigError extends Error {}

function tokenize(setting: string, text: string): string[] {
  const tokens: string[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at++;
    } else if (char === '"') {
      let value = '';
      at++;
      while (at < text.length && text[at] !== '"') {
        if (text[at] === '\\' && at + 1 < text.length) at++;
        value += text[at];
        at++;
      }
      if (at >= text.length) throw new JaasConfigError(`${setting}: a quoted value is not closed`);
      at++;
      tokens.push(`"${value}`);
    } else if (char === '=' || char === ';') {
      tokens.push(char);
      at++;
    } else {
      let word = '';
      while (at < text.length && !/[\s=;"]/.test(text[at]!)) word += text[at++];
      tokens.push(word);
    }
  }
  return tokens;
}

/** Parses one or more entries; the message of a failure names `setting` and the fault (never a value). */
export function parseJaasConfig(setting: string, text: string): JaasEntry[] {
  if (text.length > JAAS_CONFIG_CHARS_MAX) {
    throw new JaasConfigError(`${setting} is longer than ${JAAS_CONFIG_CHARS_MAX} characters`);
  }
  const tokens = tokenize(setting, text);
  const entries: JaasEntry[] = [];
  let at = 0;
  const plain = (token: string | undefined): string | undefined =>
    token === undefined ? undefined : token.startsWith('"') ? token.slice(1) : token;
  while (at < tokens.length) {
    const loginModule = tokens[at++]!;
    const flag = tokens[at++];
    if (flag === undefined || !FLAGS.has(flag.toLowerCase())) {
      throw new JaasConfigError(
        `${setting}: login module ${loginModule} has no control flag (required, requisite, sufficient or optional)`,
      );
    }
    const options = new Map<string, string>();
    while (at < tokens.length && tokens[at] !== ';') {
      const key = tokens[at++]!;
      if (tokens[at++] !== '=')
        throw new JaasConfigError(`${setting}: option '${plain(key)}' has no '=value'`);
      const value = plain(tokens[at++]);
      if (value === undefined || value === ';' || value === '=') {
        throw new JaasConfigError(`${setting}: option '${plain(key)}' has no value`);
      }
      options.set(plain(key)!, value);
    }
    if (tokens[at] !== ';')
      throw new JaasConfigError(`${setting}: the entry of ${loginModule} does not end with ';'`);
    at++;
    entries.push({ loginModule, flag: flag.toLowerCase(), options });
  }
  if (entries.length === 0) throw new JaasConfigError(`${setting} is empty`);
  return entries;
}
