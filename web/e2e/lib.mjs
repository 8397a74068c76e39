// Shared by the end-to-end test (e2e.mjs) and the benchmark (bench.mjs):
// start `pika open` on a temporary workspace, drive Debian's Chromium
// headless through playwright-core (WebGL2 in software via SwiftShader).
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PIKA = process.env.PIKA ?? join(ROOT, 'build/pika');
export const DATA = join(ROOT, '.deps/vega-datasets');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function tempDir(prefix = 'pika-e2e-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts `pika open`; resolves with { url, proc, stop() } once it prints its address. */
export function startPika(dir, extraArgs = []) {
  const db = join(dir, 'workspace.duckdb');
  const env = { ...process.env, PIKA_HOME: join(dir, 'home'), PIKA_WEB_ROOT: process.env.PIKA_WEB_ROOT ?? join(ROOT, 'web/dist') };
  const proc = spawn(PIKA, ['open', '--no-browser', '--port', '0', '--db', db, ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('pika open printed no address in 30 s:\n' + log)), 30000);
    const onData = (b) => {
      log += b.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        res({
          url: m[1],
          origin: new URL(m[1]).origin,
          proc,
          log: () => log,
          stop: () =>
            new Promise((done) => {
              if (proc.exitCode !== null) return done();
              proc.once('exit', () => done());
              proc.kill('SIGINT');
              setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 5000);
            }),
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (b) => (log += b.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`pika open exited with ${code}:\n${log}`));
    });
  });
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw Object.assign(new Error(`no browser at ${CHROMIUM} (apt-get install chromium)`), { skip: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // WebGL2 runs on SwiftShader (software Vulkan through ANGLE), but the
    // page is composited in software, as Chromium does by default on a
    // machine without a GPU: compositing through SwiftShader cost ~200 ms of
    // CPU per plot zoom on the 2-core VM (docs/BENCHMARKS.md), which a real
    // GPU does not charge to the CPU.
    args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--enable-webgl', '--disable-gpu-compositing'],
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs SQL through the page's own session (cookie auth), returns rows. */
export async function sqlInPage(page, sql) {
  return page.evaluate(async (sql) => {
    const r = await fetch('/api/query', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql, request: 'e2e-' + Math.random(), limit: 100 }) });
    const j = await r.json();
    if (!r.ok) throw new Error(JSON.stringify(j));
    return j.rows;
  }, sql);
}

/** Pixels of the plot's data canvas (WebGL or 2-D) as RGBA bytes + size. */
export async function plotPixels(page, index = 0) {
  return page.evaluate((index) => {
    const c = document.querySelectorAll('[data-testid=plot-data]')[index];
    const t = document.createElement('canvas');
    t.width = c.width;
    t.height = c.height;
    const ctx = t.getContext('2d');
    ctx.drawImage(c, 0, 0);
    return { w: t.width, h: t.height, data: Array.from(ctx.getImageData(0, 0, t.width, t.height).data) };
  }, index);
}

/** Moves the pointer across a plot at height fy (0..1 of the plot view)
 * from fx0 to fx1 until the tooltip shows a bin with a count; returns that
 * bin { v, text, x0, x1, y0, y1 } or null. */
export async function hoverBin(page, plot, fy, fx0, fx1, step) {
  const box = await plot.getByTestId('plot-view').boundingBox();
  for (let fx = fx0; fx < fx1; fx += step) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
    const tip = page.getByTestId('plot-tooltip');
    if (!(await tip.count())) continue;
    const v = Number(await tip.getAttribute('data-value'));
    if (v > 0) {
      const n = async (k) => Number(await tip.getAttribute(k));
      return { v, text: await tip.textContent(), x0: await n('data-x0'), x1: await n('data-x1'), y0: await n('data-y0'), y1: await n('data-y1') };
    }
  }
  return null;
}

/** Waits until the server runs and queues no task (a cache fill after a
 * streamed plot, the density index after it) and builds no index;
 * returns how many density indexes it holds. */
export async function waitServerIdle(page) {
  return page.evaluate(async () => {
    for (;;) {
      const st = await (await fetch('/api/status', { credentials: 'same-origin' })).json();
      if (!st.cache.indexing && st.tasks.running === 0 && st.tasks.queued === 0) return st.cache.indexes;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/** Waits until a query node shows the answer to `sql` itself (an answer to
 * the SQL it had before can have the same columns). */
export async function waitForAnswer(page, sql) {
  await page.waitForFunction(
    (q) => [...document.querySelectorAll('[data-testid=query-info]')].some((e) => e.dataset.ran === q && e.dataset.running === 'no'),
    sql,
    { timeout: 600000 },
  );
}

/** Builds the table -> query -> plot chain for `table` through the UI. */
export async function buildChain(page, table, { x, y, kind, sql }) {
  await page.getByTestId(`table-${table}`).dblclick();
  await page.getByTestId(`node-table-${table}`).waitFor();
  await page.getByTestId('add-query').click();
  if (!sql) await page.getByTestId('query-info').waitFor({ timeout: 120000 });
  else {
    // the new query starts as SELECT * FROM the table; replacing it cancels that run
    await page.waitForFunction(() => /SELECT \* FROM/.test(document.querySelector('[data-testid=sql-editor]')?.textContent ?? ''));
    await page.locator('.cm-content').last().click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type(sql);
    await page.keyboard.press('Control+Enter');
    await waitForAnswer(page, sql);
  }
  await page.getByTestId('add-plot').click();
  const plot = page.getByTestId('node-plot').last();
  await plot.getByTestId('plot-kind').selectOption(kind);
  await plot.getByTestId('enc-x').selectOption(x);
  if (y) await plot.getByTestId('enc-y').selectOption(y);
  return plot;
}
