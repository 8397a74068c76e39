// End-to-end: the real `pika open` and the built UI in headless Chromium.
// Imports flights-3m.parquet through the page's file upload, builds
// table -> query -> plot, checks the density raster's pixels are viridis,
// wheel-zooms (a refined frame arrives), hovers a bin and checks its count
// against SQL, exports a PNG (magic, size), restarts `pika open` and finds
// the workspace again; then, on a fresh server, plots a generated table of
// 100M rows, waits for its density index, zooms and checks a bin against
// SQL again. Screenshots go to build/e2e/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ROOT, DATA, PIKA, tempDir, startPika, launchBrowser, sqlInPage, plotPixels, buildChain, hoverBin, waitServerIdle, sleep } from './lib.mjs';

const bigRows = Number(process.env.PIKA_E2E_BIG_ROWS ?? 100000000);
const shots = join(ROOT, 'build/e2e');
mkdirSync(shots, { recursive: true });
const dir = tempDir();
let passed = 0, failed = 0;
const t0 = Date.now();
const step = async (name, fn) => {
  const s = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - s} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    throw e;
  }
};

// viridis LUT (web/src/plot/colormap_data.ts is TypeScript: read the hex)
const hex = /viridis:\s*((?:'[0-9a-f]+'\s*\+?\s*)+)/.exec(readFileSync(join(ROOT, 'web/src/plot/colormap_data.ts'), 'utf8'))[1].replace(/[^0-9a-f]/g, '');
const viridis = Array.from({ length: 256 }, (_, i) => [0, 2, 4].map((k) => parseInt(hex.slice(i * 6 + k, i * 6 + k + 2), 16)));
const nearViridis = (r, g, b) => viridis.some(([R, G, B]) => Math.abs(R - r) + Math.abs(G - g) + Math.abs(B - b) <= 12);

let server, browser;
try {
  server = await startPika(dir);
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 }, acceptDownloads: true });
  let page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await step('page loads behind the token redirect (cookie auth)', async () => {
    await page.goto(server.url);
    assert.equal(new URL(page.url()).search, '', 'token left the address bar');
    await page.getByTestId('datapanel').waitFor();
    await page.locator('.dot.ok').waitFor({ timeout: 10000 });
  });

  await step('import flights-3m.parquet by upload: preview, import job, table listed', async () => {
    await page.getByTestId('file-input').setInputFiles(join(DATA, 'flights-3m.parquet'));
    const dlg = page.getByTestId('import-dialog');
    await dlg.getByTestId('import-table').waitFor({ timeout: 60000 });
    assert.match(await dlg.textContent(), /delay/);
    await dlg.getByTestId('import-table').fill('flights');
    await dlg.getByTestId('import-go').click();
    await page.getByTestId('table-flights').waitFor({ timeout: 120000 });
    assert.match(await page.getByTestId('table-flights').textContent(), /3,000,000 rows/);
  });

  let plot;
  await step('table -> query -> plot (scatter of 3M points comes back as a density raster)', async () => {
    plot = await buildChain(page, 'flights', { kind: 'scatter', x: 'distance', y: 'delay', sql: 'SELECT distance, delay FROM flights' });
    await plot.getByTestId('plot-info').waitFor({ timeout: 120000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=plot-info]')?.textContent?.includes('webgl2'), null, { timeout: 60000 });
    await sleep(300);
    await page.screenshot({ path: join(shots, '1-density.png') });
    const px = await plotPixels(page);
    let drawn = 0, vir = 0;
    for (let i = 0; i < px.data.length; i += 4) {
      if (px.data[i + 3] < 200) continue;
      drawn++;
      if (nearViridis(px.data[i], px.data[i + 1], px.data[i + 2])) vir++;
    }
    console.log(`     ${drawn} opaque pixels, ${vir} of them viridis`);
    assert.ok(drawn > 2000, 'the plot area is not blank');
    assert.ok(vir / drawn > 0.95, 'data pixels are viridis colours');
  });

  await step('hover a density bin: the tooltip count equals SQL', async () => {
    // sweep across the dense band (delay ~0, short distances) until a bin answers
    const hit = await hoverBin(page, plot, 0.55, 0.12, 0.6, 0.04);
    assert.ok(hit, 'a bin with a count under the pointer');
    await page.screenshot({ path: join(shots, '2-hover.png') });
    const rows = await sqlInPage(page, `SELECT count(*) FROM flights WHERE distance >= ${hit.x0} AND distance < ${hit.x1} AND delay >= ${hit.y0} AND delay < ${hit.y1}`);
    console.log(`     tooltip "${hit.text}" vs SQL ${rows[0][0]}`);
    assert.match(hit.text, new RegExp(hit.v.toLocaleString('en-US')));
    assert.equal(Number(rows[0][0]), hit.v);
  });

  await step('wheel zoom: immediate redraw, then a refined frame for the new viewport', async () => {
    const before = await page.evaluate(() => window.__pika?.refine.length ?? 0);
    const box = await plot.getByTestId('plot-view').boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    for (let i = 0; i < 5; i++) {
      await page.mouse.wheel(0, -200);
      await sleep(30);
    }
    await page.waitForFunction((n) => (window.__pika?.refine.length ?? 0) > n, before, { timeout: 30000 });
    await sleep(200);
    await page.screenshot({ path: join(shots, '3-zoomed.png') });
    const px = await plotPixels(page);
    let drawn = 0;
    for (let i = 3; i < px.data.length; i += 4) if (px.data[i] > 200) drawn++;
    assert.ok(drawn > 2000, 'zoomed plot is drawn');
  });

  await step('export PNG: a download with PNG magic and the asked size', async () => {
    await page.getByTestId('add-export').click();
    const exp = page.getByTestId('node-export').last();
    await exp.getByTestId('export-format').selectOption('png');
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), exp.getByTestId('export-go').click()]);
    const file = join(dir, 'export.png');
    await dl.saveAs(file);
    const b = readFileSync(file);
    assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(b.readUInt32BE(16), 1000);
    assert.equal(b.readUInt32BE(20), 600);
    console.log(`     ${dl.suggestedFilename()} ${b.length} bytes, 1000x600`);
  });

  await step('restart pika open: the workspace comes back', async () => {
    await sleep(1500); // autosave debounce
    await page.close();
    await server.stop();
    server = await startPika(dir);
    page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url);
    await page.getByTestId('node-plot').waitFor({ timeout: 30000 });
    assert.equal(await page.getByTestId('node-query').count(), 1);
    assert.equal(await page.getByTestId('node-export').count(), 1);
    assert.match(await page.getByTestId('sql-editor').textContent(), /SELECT distance, delay FROM flights/);
    await page.getByTestId('plot-info').waitFor({ timeout: 60000 });
    assert.equal(await page.getByTestId('enc-x').inputValue(), 'distance');
    await page.screenshot({ path: join(shots, '4-restored.png') });
  });

  await step('drop a CSV file onto the page: preview, import, table listed', async () => {
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['zip,n\n02134,1\n10001,2\n'], 'dropped.csv', { type: 'text/csv' }));
      const app = document.querySelector('.app');
      app.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      app.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const dlg = page.getByTestId('import-dialog');
    await dlg.getByTestId('import-table').waitFor({ timeout: 60000 });
    assert.match(await dlg.textContent(), /zip/);
    await dlg.getByTestId('import-table').fill('dropped');
    await dlg.getByTestId('import-go').click();
    await page.getByTestId('table-dropped').waitFor({ timeout: 60000 });
    assert.match(await page.getByTestId('table-dropped').textContent(), /2 rows/);
    const r = await sqlInPage(page, 'SELECT zip FROM dropped ORDER BY n');
    assert.equal(r[0][0], '02134', 'a leading zero survives the drop');
  });

  await step('without WebGL2 the plot is drawn by the Canvas2D fallback', async () => {
    const fb = await ctx.newPage();
    await fb.addInitScript(() => {
      const get = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
        return kind === 'webgl2' ? null : get.call(this, kind, ...rest);
      };
    });
    fb.on('pageerror', (e) => errors.push(String(e)));
    await fb.goto(server.url);
    await fb.waitForFunction(() => document.querySelector('[data-testid=plot-info]')?.textContent?.includes('canvas2d'), null, { timeout: 60000 });
    await sleep(300);
    await fb.screenshot({ path: join(shots, '5-canvas2d.png') });
    const px = await plotPixels(fb);
    let drawn = 0;
    for (let i = 3; i < px.data.length; i += 4) if (px.data[i] > 200) drawn++;
    console.log(`     ${drawn} opaque pixels drawn by Canvas2D`);
    assert.ok(drawn > 2000, 'the fallback draws the plot');
    await fb.close();
  });

  // A fresh server on a generated table of PIKA_E2E_BIG_ROWS rows (default
  // 100M): the plot comes back, the server builds its density index, and
  // after a wheel zoom the refined frame's bin counts still equal SQL.
  await step(`${bigRows.toLocaleString('en-US')} rows: plot, density index, zoom, a bin's count equals SQL`, async () => {
    const big = tempDir();
    mkdirSync(join(big, 'home'), { recursive: true });
    const make = spawnSync(PIKA, ['query', '--db', join(big, 'workspace.duckdb'), `CREATE TABLE big AS SELECT random() AS x, random() + random() AS y FROM range(${bigRows})`], { env: { ...process.env, PIKA_HOME: join(big, 'home') }, encoding: 'utf8' });
    assert.equal(make.status, 0, make.stderr);
    const srv = await startPika(big);
    const bp = await ctx.newPage();
    bp.on('pageerror', (e) => errors.push(String(e)));
    try {
      await bp.goto(srv.url);
      const bplot = await buildChain(bp, 'big', { kind: 'scatter', x: 'x', y: 'y', sql: 'SELECT x, y FROM big' });
      await bp.waitForFunction((n) => document.querySelector('[data-testid=plot-info]')?.textContent?.includes(n), bigRows.toLocaleString('en-US'), { timeout: 600000 });
      assert.equal(await waitServerIdle(bp), 1, 'one density index for the plot');
      const box = await bplot.getByTestId('plot-view').boundingBox();
      const before = await bp.evaluate(() => window.__pika?.refine.length ?? 0);
      await bp.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
      await bp.mouse.wheel(0, -300);
      await bp.waitForFunction((n) => (window.__pika?.refine.length ?? 0) > n, before, { timeout: 120000 });
      await sleep(300);
      await bp.screenshot({ path: join(shots, '6-big-zoomed.png') });
      const hit = await hoverBin(bp, bplot, 0.5, 0.3, 0.7, 0.05);
      assert.ok(hit, 'a bin with a count under the pointer');
      const rows = await sqlInPage(bp, `SELECT count(*) FROM big WHERE x >= ${hit.x0} AND x < ${hit.x1} AND y >= ${hit.y0} AND y < ${hit.y1}`);
      console.log(`     bin [${hit.x0}, ${hit.x1}) x [${hit.y0}, ${hit.y1}): tooltip ${hit.v}, SQL ${rows[0][0]}`);
      assert.equal(Number(rows[0][0]), hit.v);
    } finally {
      await bp.close();
      await srv.stop();
      rmSync(big, { recursive: true, force: true });
    }
  });

  await step('no uncaught page errors', async () => {
    assert.deepEqual(errors, []);
  });
} catch (e) {
  if (e.skip) {
    console.log(`skipped: ${e.message}`);
    process.exit(0);
  }
  if (server) console.log('--- pika open log ---\n' + server.log().slice(-3000));
  failed ||= 1;
} finally {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
