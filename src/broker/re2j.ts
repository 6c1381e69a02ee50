/**
 * Regular expressions read as Kafka reads them: Kafka 4.1.1 compiles KIP-848 subscription regexes
 * (ConsumerGroupHeartbeat's SubscribedTopicRegex) and ListTransactions' TransactionalIdPattern
 * (KIP-1152) with re2j 1.8 (`com.google.re2j.Pattern`) and keeps a name only if the whole of it
 * matches (`matcher(name).matches()`). re2js is the JavaScript port of re2j: the same RE2 syntax, so
 * what Kafka refuses (backreferences, lookaround, `\C`, repeat counts over 1000) is refused here, and
 * what it accepts beyond JavaScript's RegExp (`(?i)` at the start, `\Q…\E`, `[[:alpha:]]`, `\pL`) is
 * accepted, in linear time.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';

/** A compiled expression; `test` is true when the whole name matches. */
export interface WholeNameMatcher {
  test(name: string): boolean;
}

/**
 * re2js says "unexpected )" for a `)` that closes nothing; re2j 1.8 (Kafka's) has no such message
 * and reports it as an internal error (asked of Kafka 4.1.1 with `)`, `a)`, `(a))`, `a|)`).
 */
const RE2J_UNMATCHED_PAREN_DESCRIPTION = 'regexp/syntax: internal error';

/** An expression re2j refuses; `message` is re2j's description, as Kafka puts it in its errors. */
export class Re2jSyntaxError extends Error {}

/** Compiles `pattern` as Kafka's re2j does; throws Re2jSyntaxError for what re2j refuses. */
export function compileRe2j(pattern: string): WholeNameMatcher {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    if (!(error instanceof RE2JSSyntaxException)) throw error;
    const description = error.getDescription();
    throw new Re2jSyntaxError(
      description === 'unexpected )' ? RE2J_UNMATCHED_PAREN_DESCRIPTION : description,
    );
  }
  return { test: (name) => compiled.matches(name) };
}
