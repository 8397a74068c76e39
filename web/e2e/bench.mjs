// bench/web.sh: the browser UI's latencies in the real page, against the
// real `pika open` on flights-3m.parquet (3M rows), headless Chromium with
// SwiftShader (software WebGL2). Prints:
//   - wheel zoom -> refined frame on screen: p50/p95 over N zooms (the app's
//     `pika:refined` performance marks; includes the 120 ms debounce)
//   - connecting a plot to a query over flights-3m -> first frame drawn
//   - longest main-thread task (PerformanceObserver 'longtask') while a long
//     query runs and the user keeps zooming
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DATA, PIKA, tempDir, startPika, launchBrowser, sleep } from './lib.mjs';

const N = Number(process.env.BENCH_ZOOMS ?? 30);
const dir = tempDir('pika-bench-');
mkdirSync(join(dir, 'home'), { recursive: true });
const imp = spawnSync(PIKA, ['import', '--db', join(dir, 'workspace.duckdb'), '--table', 'flights', join(DATA, 'flights-3m.parquet')], { env: { ...process.env, PIKA_HOME: join(dir, 'home') }, encoding: 'utf8' });
if (imp.status !== 0) throw new Error(imp.stderr);
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

const server = await startPika(dir);
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, ms: e.duration }); }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(server.url);
  await page.getByTestId('table-flights').dblclick();
  await page.getByTestId('add-query').click();
  await page.getByTestId('query-info').waitFor({ timeout: 120000 });
  // the query feeding the plot: two columns of all 3M rows
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('SELECT distance, delay FROM flights');
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=result-grid] .grid-head')?.textContent?.startsWith('#distance'), null, { timeout: 120000 });

  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('add-plot').click();
  await page.waitForFunction(() => Object.keys(window.__pika?.firstPlot ?? {}).length > 0, null, { timeout: 120000 });
  const firstPlot = (await page.evaluate(() => Object.values(window.__pika.firstPlot)[0])) - t0;
  const info = await page.getByTestId('plot-info').textContent();

  const view = await page.getByTestId('plot-view').boundingBox();
  const zoomOnce = async (i) => {
    const before = await page.evaluate(() => window.__pika.refine.length);
    await page.mouse.move(view.x + view.width * (0.3 + 0.4 * ((i * 37) % 10) / 10), view.y + view.height * 0.5);
    await page.mouse.wheel(0, i % 2 ? 150 : -150);
    await page.waitForFunction((n) => window.__pika.refine.length > n, before, { timeout: 60000 });
  };
  for (let i = 0; i < N; i++) {
    await zoomOnce(i);
    await sleep(150);
  }
  const refine = await page.evaluate(() => window.__pika.refine.slice());
  const serverMs = await page.evaluate(() => window.__pika.server.slice());
  const allTasks = await page.evaluate(() => window.__longtasks.length);

  // a long query (about 60M rows hashed) while the user keeps zooming
  await page.evaluate(() => { window.__longtasks = []; });
  const q0 = await page.evaluate(() => performance.now());
  const longQuery = page.evaluate(async () => {
    const r = await fetch('/api/query', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT sum(hash(a.delay + b.x)) FROM flights a, range(20) b(x)', request: 'bench-long', limit: 10 }) });
    return { ok: r.ok, ms: (await r.json()).elapsed_ms };
  });
  let zooms = 0;
  let done = false;
  longQuery.then(() => (done = true));
  while (!done) { await zoomOnce(zooms++); }
  const lq = await longQuery;
  const q1 = await page.evaluate(() => performance.now());
  const tasks = await page.evaluate(() => window.__longtasks.slice());
  const during = tasks.filter((t) => t.start >= q0 && t.start <= q1);
  const longest = during.reduce((m, t) => Math.max(m, t.ms), 0);

  console.log(`pika web bench (headless Chromium ${browser.version()}, SwiftShader WebGL2; ${info})`);
  console.log(`wheel zoom -> refined frame: n=${refine.length} p50 ${pct(refine, 50).toFixed(0)} ms  p95 ${pct(refine, 95).toFixed(0)} ms  max ${Math.max(...refine).toFixed(0)} ms (includes the 120 ms debounce); server elapsed_ms p50 ${pct(serverMs, 50).toFixed(0)} p95 ${pct(serverMs, 95).toFixed(0)}`);
  console.log(`long tasks observed before the long query (page load, plots): ${allTasks}`);
  console.log(`plot connected to SELECT distance, delay FROM flights (3M rows) -> first frame: ${firstPlot.toFixed(0)} ms`);
  console.log(`long query (${(lq.ms / 1000).toFixed(1)} s in the engine) with ${zooms} zooms meanwhile: longest main-thread task ${longest.toFixed(0)} ms, ${during.filter((t) => t.ms > 50).length} tasks over 50 ms`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
