/**
 * The live run view (examples/live) in headless Chromium, driven as a person would: by the buttons'
 * and the processes' accessible names. The server runs in this process, so a test reads what the
 * server's processes did (`server.runs`) beside what the page shows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { type LiveServer, startLiveServer } from '../../../examples/live/server';
import type { RunRecord } from '../../../examples/live/scenario';
import { launchChromium } from '../../support/chromium';

const ARTIFACTS = join(__dirname, '..', '..', '..', 'artifacts');

let server: LiveServer;
let context: BrowserContext;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startLiveServer();
  ({ context, close: closeBrowser } = await launchChromium());
});

afterAll(async () => {
  await closeBrowser();
  await server.close();
});

/** What the pages of a test logged as errors (a script error, a failed module load): none, ever. */
const pageErrors: string[] = [];

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

async function openPage(query: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(`${server.url}?${query}`);
  await page.waitForSelector('body[data-state="ready"]');
  return page;
}

/** Presses "Start run" and answers the run's id (the page puts it on <body data-run>). */
async function startRun(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Start run' }).click();
  const id = await page.locator('body').getAttribute('data-run');
  if (id === null) throw new Error('the page started no run');
  return id;
}

function processItem(page: Page, name: string): Locator {
  return page.getByRole('listitem', { name: new RegExp(`^${name}\\b`) });
}

async function finished(page: Page): Promise<void> {
  await page.waitForSelector('body[data-state="finished"]', { timeout: 30_000 });
}

/** Waits until the server's record of a run passes `check`; fails with the record after 10 s. */
async function serverRecord(id: string, check: (record: RunRecord) => boolean): Promise<RunRecord> {
  for (let waited = 0; ; waited += 20) {
    const record = server.runs.get(id);
    if (record !== undefined && check(record)) return record;
    if (waited > 10_000) throw new Error(`run ${id} did not get there: ${JSON.stringify(record)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The text that the server's last attempt of `name` emitted. */
function emitted(record: RunRecord, name: string): string {
  const own = record.emits.filter((emit) => emit.name === name);
  const last = Math.max(0, ...own.map((emit) => emit.attempt));
  return own
    .filter((emit) => emit.attempt === last)
    .map((emit) => emit.text)
    .join('');
}

test('the page answers /health and offers the two buttons by name', async () => {
  expect((await fetch(new URL('/health', server.url))).status).toBe(200);
  const page = await openPage('');
  expect(await page.getByRole('button', { name: 'Start run' }).isEnabled()).toBe(true);
  expect(await page.getByRole('button', { name: 'Cancel run' }).isDisabled()).toBe(true);
  await page.close();
});

test('partial text shows on the page while its process is still running', async () => {
  const page = await openPage('pace=0.5&deadline=3');
  await startRun(page);
  const researcher = processItem(page, 'researcher');
  // One look at the page, so "running" and the text are seen together.
  const handle = await researcher.elementHandle();
  await page.waitForFunction((item) => item?.querySelector('.status')?.textContent === 'running' && (item.querySelector('.text')?.textContent ?? '') !== '', handle);
  const partial = (await researcher.locator('.text').textContent()) ?? '';
  expect(partial.length).toBeGreaterThan(0);
  // The writer shares the researcher's backend, whose cap is 1: it waits for the slot.
  expect(await processItem(page, 'writer waiting').count()).toBe(1);
  await page.screenshot({ path: join(ARTIFACTS, 'live-run-running.png'), fullPage: true });
  // The critic's first attempt fails half-way: while it waits to retry, what it wrote is cleared.
  const critic = await processItem(page, 'critic').elementHandle();
  await page.waitForFunction((item) => item?.querySelector('.status')?.textContent === 'retrying' && item.querySelector('.text')?.textContent === '', critic);
  expect(await processItem(page, 'critic').locator('.outcome').textContent()).toMatch(/^\[critic\] Error: lost the connection to flaky after 4 tokens — attempt 2 in 0\.2 s$/);
  await finished(page);
  expect(await researcher.locator('.status').textContent()).toBe('done');
  const final = (await researcher.locator('.text').textContent()) ?? '';
  expect(final.startsWith(partial)).toBe(true);
  expect(final.length).toBeGreaterThan(partial.length);
  await page.close();
});

test('a finished run: results, a retry, the deadline failure, the summary; screenshots at desktop and 375 px', async () => {
  const page = await openPage('pace=0.25&deadline=2.5');
  const id = await startRun(page);
  await finished(page);
  const record = await serverRecord(id, (run) => run.status === 'done');

  for (const name of ['planner', 'researcher', 'writer', 'critic']) {
    const item = processItem(page, `${name} done`);
    expect(await item.count()).toBe(1);
    expect(await item.locator('.text').textContent()).toBe(emitted(record, name));
    expect(await item.locator('.outcome').textContent()).toMatch(name === 'critic' ? /^Result \(attempt 2\): / : /^Result: /);
  }
  // The critic failed once: what its first attempt wrote was cleared, so the page shows the second's only.
  expect(record.emits.some((emit) => emit.name === 'critic' && emit.attempt === 1)).toBe(true);
  const summarizer = processItem(page, 'summarizer failed');
  expect(await summarizer.locator('.outcome').textContent()).toMatch(/^\[summarizer\] DeadlineExceededError: deadline exceeded: .*running/);
  expect(await page.locator('#summary').textContent()).toBe('4 of 5 succeeded, 1 failed (1 DeadlineExceededError).');
  expect(await page.getByRole('status').textContent()).toMatch(/^Run finished/);
  expect(await page.locator('#deadline-value').textContent()).toBe('passed');

  await page.screenshot({ path: join(ARTIFACTS, 'live-run-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  // Usable at 375 px: nothing sticks out sideways, so there is no horizontal scrolling.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.screenshot({ path: join(ARTIFACTS, 'live-run-375.png'), fullPage: true });
  await page.close();
});

test('"Cancel run" aborts the processes on the server and marks them cancelled', async () => {
  const page = await openPage('pace=0.5');
  const id = await startRun(page);
  const researcher = processItem(page, 'researcher');
  const handle = await researcher.elementHandle();
  await page.waitForFunction((item) => (item?.querySelector('.text')?.textContent ?? '') !== '', handle);
  await page.getByRole('button', { name: 'Cancel run' }).click();

  const record = await serverRecord(id, (run) => run.status === 'cancelled' && run.aborted.includes('researcher') && run.aborted.includes('summarizer'));
  expect(await processItem(page, 'researcher cancelled').count()).toBe(1);
  expect(await processItem(page, 'summarizer cancelled').count()).toBe(1);
  expect(await page.getByRole('status').textContent()).toBe('Run cancelled');
  // Aborted means stopped: no process of the run emits anything after it.
  const emits = record.emits.length;
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(record.emits.length).toBe(emits);
  expect(await page.getByRole('button', { name: 'Start run' }).isEnabled()).toBe(true);
  await page.close();
});

test('closing the page cancels its run on the server', async () => {
  const page = await openPage('pace=0.5');
  const id = await startRun(page);
  await serverRecord(id, (run) => run.emits.some((emit) => emit.name === 'summarizer'));
  await page.close();
  const record = await serverRecord(id, (run) => run.status === 'cancelled' && run.aborted.includes('summarizer'));
  expect(record.aborted).toContain('researcher');
});

test('two pages running at once each see only the events of their own run', async () => {
  const [a, b] = await Promise.all([openPage('pace=0.25&deadline=2.5&label=A'), openPage('pace=0.25&deadline=2.5&label=B')]);
  if (a === undefined || b === undefined) throw new Error('no pages');
  const [idA, idB] = await Promise.all([startRun(a), startRun(b)]);
  expect(idA).not.toBe(idB);
  await Promise.all([finished(a), finished(b)]);
  for (const [page, id, label, other] of [
    [a, idA, 'A: ', 'B: '],
    [b, idB, 'B: ', 'A: '],
  ] as const) {
    const record = await serverRecord(id, (run) => run.status === 'done');
    for (const name of ['planner', 'researcher', 'writer', 'critic', 'summarizer']) {
      const text = (await processItem(page, name).locator('.text').textContent()) ?? '';
      expect(text.startsWith(label)).toBe(true);
      expect(text).not.toContain(other);
      expect(text).toBe(emitted(record, name));
    }
  }
  await Promise.all([a.close(), b.close()]);
});

test('measured: from ctx.emit on the server to the text on the page, over 100 partials', async () => {
  const page = await openPage('scenario=stream&deadline=30');
  // Every change of the streamer's text: its length, when it was in the DOM, and the next frame after
  // it (when the browser paints it), on the same clock as the server's (timeOrigin + now).
  await page.evaluate(() => {
    const seen: { length: number; at: number; painted: number }[] = [];
    (window as unknown as { seen: typeof seen }).seen = seen;
    const now = (): number => performance.timeOrigin + performance.now();
    new MutationObserver(() => {
      const text = document.querySelector('#processes .text')?.textContent ?? '';
      if (text.length <= (seen.at(-1)?.length ?? 0)) return;
      const change = { length: text.length, at: now(), painted: Number.NaN };
      seen.push(change);
      requestAnimationFrame(() => (change.painted = now()));
    }).observe(document.getElementById('processes') ?? document.body, { childList: true, subtree: true, characterData: true });
  });
  const id = await startRun(page);
  await finished(page);
  const record = await serverRecord(id, (run) => run.status === 'done');
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
  const seen = await page.evaluate(() => (window as unknown as { seen: { length: number; at: number; painted: number }[] }).seen);

  expect(record.emits).toHaveLength(100);
  let length = 0;
  const latencies = record.emits.map((emit) => {
    length += emit.text.length;
    const shown = seen.find((change) => change.length >= length);
    if (shown === undefined) throw new Error(`partial ${emit.text} never showed`);
    return { dom: shown.at - emit.at, painted: shown.painted - emit.at };
  });
  const summary = (values: number[]): Record<string, number> => {
    const sorted = [...values].sort((x, y) => x - y);
    const at = (i: number): number => Number((sorted[i] ?? Number.NaN).toFixed(2));
    return { median: Number((((sorted[49] ?? 0) + (sorted[50] ?? 0)) / 2).toFixed(2)), p90: at(89), min: at(0), max: at(99) };
  };
  const report = { partials: latencies.length, inDomMs: summary(latencies.map((l) => l.dom)), nextFrameMs: summary(latencies.map((l) => l.painted)) };
  writeFileSync(join(ARTIFACTS, 'emit-to-page-latency.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `emit → page over ${report.partials} partials: in the DOM median ${report.inDomMs['median']} ms (p90 ${report.inDomMs['p90']}, max ${report.inDomMs['max']}); ` +
      `next frame median ${report.nextFrameMs['median']} ms (p90 ${report.nextFrameMs['p90']}, max ${report.nextFrameMs['max']})\n`,
  );
  expect(latencies.every((latency) => Number.isFinite(latency.dom) && Number.isFinite(latency.painted))).toBe(true);
  await page.close();
});
