/**
 * RULE-MSG-014: every variable the stack needs is set by the env file. A `${NAME}` left
 * unset becomes an empty string in Compose (a silent misconfiguration); a `${NAME:?msg}`
 * left unset stops Compose. References with a default are reported, but pass.
 */
import { type Finding, finding, type Rule } from './rule.ts';

export const variablesRule: Rule = {
  id: 'RULE-MSG-014',
  title: 'every variable without a default is set in the env file',
  traces: ['VAL-MSG-PLN-001'],
  check(stack) {
    const envName = stack.env?.displayPath ?? 'the env file';
    const findings: Finding[] = [];
    for (const variable of stack.variables) {
      if (variable.set || variable.fallback === 'default') continue;
      const consequence =
        variable.fallback === 'required'
          ? `Compose would stop${variable.requiredMessage ? ` ("${variable.requiredMessage}")` : ''}`
          : 'Compose would substitute an empty string';
      findings.push(
        finding(
          { file: variable.file, line: variable.line },
          `${variable.name} is not set in ${envName}: ${consequence}; add it there`,
        ),
      );
    }
    return findings;
  },
};
