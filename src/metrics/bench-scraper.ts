/**
 * The scraper of `bench.ts`, a process of its own so the bench can place it (a core, a scheduling
 * policy) and read its CPU apart from the clients'. Told `start` and `stop` over IPC, it fetches
 * its URL every SCRAPE_INTERVAL_MS in between (never two at once), on one kept-alive connection,
 * asking for gzip as Prometheus does, and reads the body without decoding it: what the scraped
 * server does is the same, and the scraper's own CPU stays small (fetch's gunzip of ~185 KiB cost
 * ~3-4 ms a scrape here, ~40 ms/s beside the clients at 10 scrapes a second). `mark` answers with
 * the scrapes since the last `start` or `mark` and scrapes on; `stop` ends the loop (the scrape in
 * flight finishes) and answers the same way. It says `ready` once it listens for commands.
 *
 *   node src/metrics/bench-scraper.ts URL   (with an IPC channel: bench.ts forks it)
 */
import { Agent, request } from 'node:http';

/** The scrape interval issue 16 names (bench.ts's; importing it would run that bench). */
const SCRAPE_INTERVAL_MS = 100;
/** A scrape that takes longer is abandoned (the next one starts on time). */
const SCRAPE_TIMEOUT_MS = 5_000;

export type ScraperCommand = 'start' | 'mark' | 'stop';
export interface ScraperCounts {
  readonly scrapes: number;
  readonly failures: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One scrape: resolves true on a 200 whose body was read to its end. */
function scrapeOnce(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const asked = request(
      url,
      { agent, headers: { 'accept-encoding': 'gzip' }, timeout: SCRAPE_TIMEOUT_MS },
      (response) => {
        response.on('data', () => {});
        response.on('end', () => resolve(response.statusCode === 200));
        response.on('error', () => resolve(false));
      },
    );
    asked.on('timeout', () => asked.destroy(new Error('scrape timed out')));
    asked.on('error', () => resolve(false));
    asked.end();
  });
}

function main(url: string): void {
  let counts = { scrapes: 0, failures: 0 };
  let running: Promise<void> | null = null;
  let stopped = true;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const startedMs = performance.now();
      if (await scrapeOnce(url)) counts.scrapes++;
      else counts.failures++;
      const waitMs = SCRAPE_INTERVAL_MS - (performance.now() - startedMs);
      if (waitMs > 0 && !stopped) await new Promise((done) => setTimeout(done, waitMs));
    }
  };
  process.on('message', (command: ScraperCommand) => {
    if (command === 'start' && running === null) {
      counts = { scrapes: 0, failures: 0 };
      stopped = false;
      running = loop();
    } else if (command === 'mark') {
      process.send?.(counts satisfies ScraperCounts);
      counts = { scrapes: 0, failures: 0 };
    } else if (command === 'stop') {
      stopped = true;
      void (running ?? Promise.resolve()).then(() => {
        running = null;
        process.send?.(counts satisfies ScraperCounts);
        counts = { scrapes: 0, failures: 0 };
      });
    }
  });
  process.on('disconnect', () => process.exit(0));
  // Listening now: bench.ts waits for this before it sends a command.
  process.send?.('ready');
}

if (import.meta.main) {
  const url = process.argv[2];
  if (url === undefined || process.send === undefined)
    throw new Error('usage: forked by bench.ts with the URL to scrape');
  main(url);
}
