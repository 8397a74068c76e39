// bench/web.sh: the browser UI's latencies in the real page, against the
// real `pika open`, headless Chromium with SwiftShader (software WebGL2).
// Two sessions, each a fresh server and database:
//   1. flights-3m.parquet (3M rows): connecting a plot to a query -> first
//      frame; wheel zoom -> refined frame p50/p95 (the app's `pika:refined`
//      marks, from the wheel event); the longest
//      main-thread task (PerformanceObserver 'longtask') while a long query
//      runs and the user keeps zooming;
//   2. a generated table of BENCH_BIG_ROWS rows (default 100M; 0 skips it):
//      first frame, then wheel zoom -> refined frame p50/p95.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, PIKA, tempDir, startPika, launchBrowser, sleep, waitForAnswer, waitServerIdle } from './lib.mjs';

const N = Number(process.env.BENCH_ZOOMS ?? 30);
// CPU seconds used so far by the server and by the browser's processes
// (/proc/PID/stat utime + stime), to show who used the two cores meanwhile.
const TICK = 100;
function cpuSeconds(serverPid) {
  let server = 0, browser = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st;
    try { st = readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const t = (Number(f[11]) + Number(f[12])) / TICK;
    if (Number(d) === serverPid) server += t;
    else if (/chrom/i.test(comm)) browser += t;
  }
  return { server, browser };
}
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

async function session(table, load, sql, withLongQuery) {
const dir = tempDir('pika-bench-');
mkdirSync(join(dir, 'home'), { recursive: true });
const imp = spawnSync(PIKA, [...load, '--db', join(dir, 'workspace.duckdb')], { env: { ...process.env, PIKA_HOME: join(dir, 'home') }, encoding: 'utf8' });
if (imp.status !== 0) throw new Error(imp.stderr);
const server = await startPika(dir);
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, ms: e.duration }); }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(server.url);
  await page.getByTestId(`table-${table}`).dblclick();
  await page.getByTestId('add-query').click();
  await page.getByTestId('query-info').waitFor({ timeout: 120000 });
  // the query feeding the plot: two columns of all 3M rows
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type(sql);
  await page.keyboard.press('Control+Enter');
  await waitForAnswer(page, sql);

  const t0 = await page.evaluate(() => performance.now());
  await page.getByTestId('add-plot').click();
  await page.waitForFunction(() => Object.keys(window.__pika?.firstPlot ?? {}).length > 0, null, { timeout: 600000 });
  const firstPlot = (await page.evaluate(() => Object.values(window.__pika.firstPlot)[0])) - t0;
  const info = await page.getByTestId('plot-info').textContent();

  // A large density plot gets a density index built in the background
  // (engine/dindex.h); wait for it, and report how long it took.
  const ix0 = await page.evaluate(() => performance.now());
  const indexed = await waitServerIdle(page);
  const indexMs = (await page.evaluate(() => performance.now())) - ix0;

  const view = await page.getByTestId('plot-view').boundingBox();
  const zoomOnce = async (i) => {
    const before = await page.evaluate(() => window.__pika.refine.length);
    await page.mouse.move(view.x + view.width * (0.3 + 0.4 * ((i * 37) % 10) / 10), view.y + view.height * 0.5);
    await page.mouse.wheel(0, i % 2 ? 150 : -150);
    await page.waitForFunction((n) => window.__pika.refine.length > n, before, { timeout: 60000 });
  };
  const cpu0 = cpuSeconds(server.proc.pid);
  for (let i = 0; i < N; i++) {
    await zoomOnce(i);
    await sleep(150);
  }
  const cpu1 = cpuSeconds(server.proc.pid);
  const refine = await page.evaluate(() => window.__pika.refine.slice());
  const serverMs = await page.evaluate(() => window.__pika.server.slice());
  const phases = await page.evaluate(() => window.__pika.phases.slice());
  const allTasks = await page.evaluate(() => window.__longtasks.length);
  console.log(`[${table}] ${info}`);
  console.log(`[${table}] plot connected to ${sql} -> first frame: ${firstPlot.toFixed(0)} ms`);
  console.log(`[${table}] density indexes: ${indexed} (ready ${indexMs.toFixed(0)} ms after the first frame)`);
  console.log(`[${table}] wheel zoom -> refined frame: n=${refine.length} p50 ${pct(refine, 50).toFixed(0)} ms  p95 ${pct(refine, 95).toFixed(0)} ms  max ${Math.max(...refine).toFixed(0)} ms ; server elapsed_ms p50 ${pct(serverMs, 50).toFixed(0)} p95 ${pct(serverMs, 95).toFixed(0)}`);
  const ph = (k) => `${pct(phases.map((p) => p[k]), 50).toFixed(0)}/${pct(phases.map((p) => p[k]), 95).toFixed(0)}`;
  console.log(`[${table}]   phases p50/p95 from the wheel: request sent ${ph('sent')} ms, answer decoded ${ph('answer')} ms, scene on the GPU ${ph('scene')} ms`);
  console.log(`[${table}]   CPU during the ${N} zooms: server ${(cpu1.server - cpu0.server).toFixed(2)} s, browser ${(cpu1.browser - cpu0.browser).toFixed(2)} s`);
  const st = await page.evaluate(async () => (await fetch('/api/status', { credentials: 'same-origin' })).json());
  console.log(`[${table}]   after the zooms: cache ${JSON.stringify(st.cache)}, tasks ${JSON.stringify(st.tasks)}, rss ${(st.memory.rss / 2 ** 20).toFixed(0)} MiB`);
  const rt = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/plot')).slice(-30).map((e) => ({ wait: e.responseStart - e.requestStart, xfer: e.responseEnd - e.responseStart, size: e.encodedBodySize })));
  console.log(`[${table}]   resource timing: request->first byte p50 ${pct(rt.map((r) => r.wait), 50).toFixed(1)} p95 ${pct(rt.map((r) => r.wait), 95).toFixed(1)}; first->last byte p50 ${pct(rt.map((r) => r.xfer), 50).toFixed(1)} p95 ${pct(rt.map((r) => r.xfer), 95).toFixed(1)}; size ${rt[rt.length - 1]?.size}`);
  if (!withLongQuery) return;

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

  console.log(`[${table}] long tasks observed before the long query (page load, plots): ${allTasks}`);
  console.log(`[${table}] long query (${(lq.ms / 1000).toFixed(1)} s in the engine) with ${zooms} zooms meanwhile: longest main-thread task ${longest.toFixed(0)} ms, ${during.filter((t) => t.ms > 50).length} tasks over 50 ms`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
}

console.log(`pika web bench: headless Chromium, SwiftShader WebGL2, ${N} zooms per session`);
if (process.env.BENCH_FLIGHTS !== '0')
  await session('flights', ['import', '--table', 'flights', join(DATA, 'flights-3m.parquet')], 'SELECT distance, delay FROM flights', true);
const big = Number(process.env.BENCH_BIG_ROWS ?? 100000000);
if (big > 0)
  await session('big', ['query', `CREATE TABLE big AS SELECT random() AS x, random() + random() AS y FROM range(${big})`], 'SELECT x, y FROM big', false);
