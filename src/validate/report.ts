/** Renders a validation report: one line per rule (and per finding), then a summary. */
import type { InputError } from './errors.ts';
import type { Report } from './validate.ts';

export function formatText(report: Report): string {
  const lines: string[] = [`kstack validate: ${report.file} (env file: ${report.envFile ?? 'none'})`];
  for (const rule of report.rules) {
    if (rule.passed) {
      lines.push(`PASS  ${rule.id}  ${rule.title}`);
      continue;
    }
    for (const item of rule.findings) {
      const where = item.location === undefined ? '' : `${item.location.file}:${item.location.line}  `;
      lines.push(`FAIL  ${rule.id}  ${where}${item.message}`);
    }
  }
  const defaulted = report.unsetVariables.filter((variable) => variable.fallback === 'default');
  for (const variable of defaulted) {
    lines.push(
      `NOTE  ${variable.name} is not set in the env file; the default is used (${variable.file}:${variable.line})`,
    );
  }
  const { rules, passed, failed } = report.summary;
  lines.push(
    `${rules} rules: ${passed} passed, ${failed} failed${failed === 0 ? '' : ' (fix the FAIL lines above)'}`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function formatInputErrorJson(error: InputError): string {
  return `${JSON.stringify({ ok: false, error: { file: error.file, line: error.line ?? null, message: error.detail } }, null, 2)}\n`;
}
