/**
 * What the UI's browser tests share: where screenshots go, taking one, axe-core on a page, and a
 * table's cells. Used by connect-visit.ts (and through it test/engine/cluster-up.slow.ts),
 * connect.long.ts and faults.slow.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const AXE_SOURCE = readFileSync(join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** Kept as test artifacts and looked at: `$KSTACK_UI_SCREENSHOTS`, or a folder in the temp dir. */
export const SCREENSHOTS = process.env.KSTACK_UI_SCREENSHOTS ?? join(tmpdir(), 'kstack-ui-screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * axe-core's WCAG 2.1 A and AA rules on the page as it is: no serious or critical violation. The
 * script goes in through the DevTools protocol, which the page's CSP does not govern.
 */
export async function assertAccessible(page: Page, name: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(options: object): Promise<{ violations: unknown[] }> } }
    ).axe;
    return (await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }))
      .violations;
  })) as { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
  assert.deepEqual(
    violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`),
    [],
    `axe-core on the ${name} page`,
  );
}

/** Cells of the page's table `label` (text), row by row. */
export function tableRows(page: Page, label: string): Promise<string[][]> {
  return page
    .locator(`table[aria-label="${label}"] tbody tr`)
    .evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())),
    );
}
