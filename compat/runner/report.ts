// The matrix as text for the terminal, as JSON for compat/results/, and as a section of
// docs/compatibility.md (one section per target and cluster size, replaced in place).
import fs from 'node:fs';
import path from 'node:path';
import type { Cell } from './execute.ts';
import { profileKey, type Scenario } from './scenarios.ts';

export interface RunReport {
  target: string;
  nodes: number;
  kafkaVersion?: string;
  startedAt: string;
  durationMs: number;
  filtered: boolean;
  /** How the scenarios and clients were chosen ("all", or the filters given). */
  selection?: string;
  clients: { name: string; version?: string; description: string }[];
  scenarios: { name: string; issue: number | null; nodes: number; description: string; profile?: string }[];
  cells: Cell[];
}

const SYMBOL = { pass: 'pass', fail: 'FAIL', unsupported: 'n/s', notRun: 'not run' } as const;
const LABEL = { fail: 'FAIL', unsupported: 'not supported', notRun: 'not run' } as const;

export function summary(report: RunReport): {
  pass: number;
  fail: number;
  unsupported: number;
  notRun: number;
} {
  const count = (status: Cell['status']) => report.cells.filter((c) => c.status === status).length;
  return {
    pass: count('pass'),
    fail: count('fail'),
    unsupported: count('unsupported'),
    notRun: count('notRun'),
  };
}

export function matrixText(report: RunReport): string {
  const clients = report.clients.map((c) => c.name);
  const width = Math.max(8, ...report.scenarios.map((s) => s.name.length));
  const columns = clients.map((c) => Math.max(7, c.length));
  const lines = [`${'scenario'.padEnd(width)}  ${clients.map((c, i) => c.padEnd(columns[i]!)).join('  ')}`];
  for (const scenario of report.scenarios) {
    const row = clients.map((client, i) => {
      const cell = report.cells.find((c) => c.client === client && c.scenario === scenario.name);
      return (cell ? SYMBOL[cell.status] : '-').padEnd(columns[i]!);
    });
    lines.push(`${scenario.name.padEnd(width)}  ${row.join('  ')}`);
  }
  const details = report.cells.filter((c) => c.status !== 'pass');
  if (details.length > 0) lines.push('', 'details:');
  for (const cell of details) {
    const label = LABEL[cell.status as keyof typeof LABEL];
    lines.push(`  ${cell.client} × ${cell.scenario}: ${label}`);
    for (const detail of cell.details) lines.push(`    - ${detail.slice(0, 400)}`);
  }
  const { pass, fail, unsupported, notRun } = summary(report);
  lines.push(
    '',
    `${report.target} (${report.nodes} node${report.nodes > 1 ? 's' : ''}): ${pass} passed, ${fail} failed, ${unsupported} not supported${notRun > 0 ? `, ${notRun} NOT RUN (see details)` : ''} in ${Math.round(report.durationMs / 1000)} s; ${report.scenarios.length} scenario(s) (${report.selection ?? 'all'})${report.filtered ? `: ${report.scenarios.map((s) => s.name).join(', ')}` : ''}`,
  );
  return lines.join('\n');
}

export function writeJson(report: RunReport, dir: string, out?: string): string {
  const target = report.target.replace(/[^A-Za-z0-9.-]/g, '_');
  const file = out ?? path.join(dir, `${target}-${report.nodes}-nodes.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

function issueLabel(issue: number | null): string {
  return issue === null ? 'later (cluster)' : `#${issue}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownSection(report: RunReport): string {
  const clients = report.clients.map((c) => c.name);
  const lines = [
    `### ${report.target}, ${report.nodes} node${report.nodes > 1 ? 's' : ''}`,
    '',
    `Run ${report.startedAt.slice(0, 10)}${report.kafkaVersion ? ` against Apache Kafka ${report.kafkaVersion}` : ''}, ${Math.round(report.durationMs / 1000)} s. ` +
      `Clients: ${report.clients.map((c) => `${c.name} ${c.version ?? '(not installed)'}`).join(', ')}.`,
    '',
    `| scenario | issue | ${clients.join(' | ')} |`,
    `| --- | --- | ${clients.map(() => '---').join(' | ')} |`,
  ];
  for (const scenario of report.scenarios) {
    const row = clients.map((client) => {
      const cell = report.cells.find((c) => c.client === client && c.scenario === scenario.name);
      if (!cell) return '–';
      return { pass: 'pass', fail: '**FAIL**', unsupported: 'not supported', notRun: 'not run' }[cell.status];
    });
    lines.push(`| ${scenario.name} | ${issueLabel(scenario.issue)} | ${row.join(' | ')} |`);
  }
  const notes = report.cells.filter((c) => c.status !== 'pass' || c.details.length > 0);
  if (notes.length > 0) {
    lines.push('', 'Notes:', '');
    for (const cell of notes) {
      const label = {
        fail: 'fails',
        unsupported: 'not supported',
        notRun: 'was not run',
        pass: 'passes with a known difference',
      }[cell.status];
      lines.push(
        `- ${cell.client} × ${cell.scenario} ${label}: ${escapeCell(cell.details.map((d) => d.slice(0, 300)).join('; '))}`,
      );
    }
  }
  return lines.join('\n');
}

const DOC_HEADER = `# Client compatibility

Generated by \`npm run test:compat\` (compat/run.ts): every scenario of \`compat/scenarios/\` run through
every client driver of \`compat/clients/\` (protocol: \`compat/PROTOCOL.md\`). Expected results were
observed on Apache Kafka (the reference cluster, \`reference/\`). "not supported" means the client has no
way to do a step; it is listed, never counted as a pass. Each section is replaced by the next full run of
the same target and cluster size.

Kafka's own command-line tools are checked by \`reference/val-msg-pln-003.sh\` (the seeds' VAL-MSG-PLN-003
chain), not by a driver. \`@confluentinc/kafka-javascript\` (client \`confluent-js\`) is built from registry
sources by \`scripts/setup/25-confluent-js.sh\`: its own install would download a prebuilt addon.
`;

export function scenarioTable(scenarios: Scenario[]): string {
  const lines = [
    '## Scenarios',
    '',
    '| scenario | nodes | issue | what it checks |',
    '| --- | --- | --- | --- |',
  ];
  for (const s of scenarios) {
    const key = profileKey(s.broker);
    const profile = key === 'default' ? '' : ` (cluster profile: ${key})`;
    lines.push(
      `| ${s.name} | ${s.nodes}+ | ${issueLabel(s.issue)} | ${escapeCell(s.description + profile)} |`,
    );
  }
  return lines.join('\n');
}

/** Rewrites docs/compatibility.md, replacing this report's section and the scenario table. */
export function updateMarkdown(file: string, report: RunReport, scenarios: Scenario[]): void {
  const key = `${report.target}:${report.nodes}`;
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const sections = new Map<string, string>();
  for (const match of existing.matchAll(/<!-- matrix (\S+) -->\n([\s\S]*?)<!-- \/matrix -->/g)) {
    sections.set(match[1]!, match[2]!.trimEnd());
  }
  sections.set(key, markdownSection(report));
  const order = [...sections.keys()].sort();
  // The hand-written block (kstack's deliberate differences from Kafka) survives every regeneration.
  const differences = /<!-- differences -->\n[\s\S]*?<!-- \/differences -->\n/.exec(existing)?.[0];
  const body = [
    DOC_HEADER,
    ...(differences === undefined ? [] : [differences]),
    scenarioTable(scenarios),
    '',
    '## Results',
    '',
    ...order.map((k) => `<!-- matrix ${k} -->\n${sections.get(k)}\n<!-- /matrix -->\n`),
  ].join('\n');
  fs.writeFileSync(file, body);
}
