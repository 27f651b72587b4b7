#!/usr/bin/env node
// The web UI with 100 000 devices, in Debian's chromium (issue 16). Prints
// numbers; passes or fails nothing on timing.
//
//   node tests/bench/ui_bench.mjs [--clients 100000] [--aps 100] [--seconds 20]
//
// Needs tests/ui's packages (cd tests/ui && npm ci) and a built UI
// (collector/web/dist; built here if missing). Binaries from
// HOPWIRE_BUILD_DIR (default ./build). Run it on a quiet machine: with two
// cores, the collector, the sensor and the browser share them.
//
// 1. A sensor replays a crafted capture (tests/tools/make_capture.py) with
//    that many clients and APs, as fast as it can: the collector tracks them.
// 2. Login to first rows, and to all rows loaded; browser memory; scroll
//    frame times (ingest idle).
// 3. A second sensor loops the capture as fast as it can: the collector's
//    ingest rate with no browser, then with the UI open on the device list
//    (its last-time polls bring most devices every time, the worst case),
//    and scroll frame times while the list updates.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILD_DIR, Collector, Sensor, WEB, craftCapture, ensureDir, ensureUiBuilt, launchBrowser, sleep, tempDir, until,
} from '../ui/lib/harness.mjs';
import { startFront } from '../ui/lib/front.mjs';

const require = createRequire(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'ui', 'package.json'));
const { chromium } = require('playwright-core');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CLIENTS = arg('clients', 100000);
const APS = arg('aps', 100);
const SECONDS = arg('seconds', 20);
const FRAMES = Math.max(4 * (CLIENTS + APS), 400000);

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const mib = (b) => (b / 1048576).toFixed(1) + ' MiB';

function rssOf(marker) {
  // Resident and proportional memory of every chromium process of this profile.
  let rss = 0, pss = 0, n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(marker)) continue;
      n++;
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0) * 1024;
      try {
        const sm = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
        pss += Number(/^Pss:\s+(\d+)/m.exec(sm)?.[1] ?? 0) * 1024;
      } catch { /* older kernels */ }
    } catch { /* gone */ }
  }
  return { rss, pss, processes: n };
}

async function ingestRate(collector, seconds) {
  const a = await collector.json('/system/status.json');
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const b = await collector.json('/system/status.json');
  const dt = (Date.now() - t0) / 1000;
  return (b['hopwire.system.packets_received'] - a['hopwire.system.packets_received']) / dt;
}

async function scrollFrames(page, ms, stepPx) {
  return page.evaluate(
    async ([ms, stepPx]) => {
      const el = document.getElementById('device-table');
      const intervals = [];
      const busy = [];
      const ch = new MessageChannel();
      let frameStart = 0;
      ch.port1.onmessage = () => busy.push(performance.now() - frameStart);
      const loaf = [];
      let po = null;
      if (PerformanceObserver.supportedEntryTypes?.includes('long-animation-frame')) {
        po = new PerformanceObserver((l) => loaf.push(...l.getEntries().map((e) => e.duration)));
        po.observe({ type: 'long-animation-frame' });
      }
      el.scrollTop = 0;
      return new Promise((resolve) => {
        let last = 0;
        const end = performance.now() + ms;
        const step = (t) => {
          if (last) intervals.push(t - last);
          last = t;
          frameStart = performance.now();
          el.scrollTop += stepPx;
          if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) el.scrollTop = 0;
          ch.port2.postMessage(0); // runs once this frame's rendering is done
          if (t < end) requestAnimationFrame(step);
          else {
            po?.disconnect();
            resolve({ intervals, busy, loaf, rows: el.querySelectorAll('[role=row]').length });
          }
        };
        requestAnimationFrame(step);
      });
    },
    [ms, stepPx],
  );
}

function printFrames(label, r) {
  const slow = r.intervals.filter((x) => x > 25).length;
  console.log(
    `${label}: ${r.intervals.length} frames; busy per frame p50 ${f1(pct(r.busy, 50))} ms, p95 ${f1(pct(r.busy, 95))} ms, max ${f1(Math.max(...r.busy))} ms; ` +
      `frame interval p50 ${f1(pct(r.intervals, 50))} ms, p95 ${f1(pct(r.intervals, 95))} ms, over 25 ms: ${slow}; long animation frames (>50 ms): ${r.loaf.length}; rows in DOM ${r.rows}`,
  );
}

async function memory(page, marker) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.collectGarbage').catch(() => {});
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  const p = rssOf(marker);
  console.log(
    `browser memory: JS heap used ${mib(m.JSHeapUsedSize)} (of ${mib(m.JSHeapTotalSize)}), DOM nodes ${m.Nodes}; ` +
      `chromium processes: ${p.processes}, RSS ${mib(p.rss)}, PSS ${mib(p.pss)}`,
  );
}

async function openUi(base, dataDir, password) {
  const ctx = await launchBrowser(chromium, { userDataDir: dataDir });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(base);
  await page.waitForSelector('#login-password');
  await page.fill('#login-password', password);
  const t0 = performance.now();
  await page.click('button[type=submit]');
  await page.waitForSelector('#device-table [role=row][aria-rowindex="2"]', { timeout: 60000 });
  const first = performance.now() - t0;
  return { ctx, page, first, t0 };
}

async function main() {
  await ensureUiBuilt();
  const work = tempDir('hopwire-ui-bench-');
  const dataDir = ensureDir(join(BUILD_DIR, 'bench-data'));
  const cap = craftCapture(dataDir, FRAMES, { aps: APS, clients: CLIENTS });
  const collector = await new Collector(work.path, { extraArgs: ['--log-level', 'warn', '--packet-log-max', '0'] }).start();
  const front = await startFront({ dist: join(WEB, 'dist'), collector: collector.url });
  const sensors = [];
  let ui = null;
  try {
    console.log(`capture: ${FRAMES} frames, ${CLIENTS} clients, ${APS} APs (${cap})`);
    const t0 = Date.now();
    const load = new Sensor(collector, `${cap}:name=load,realtime=false`);
    sensors.push(load);
    if ((await load.run(600000)) !== 0) throw new Error('load sensor failed: ' + load.output());
    const st = await collector.json('/system/status.json');
    const n = st['kismet.system.devices.count'];
    console.log(`collector: ${n} devices after the first replay (${((Date.now() - t0) / 1000).toFixed(1)} s, ` +
      `${Math.round(FRAMES / ((Date.now() - t0) / 1000))} frames/s incl. connect), RSS ${mib(st['hopwire.system.memory.rss_bytes'])}`);

    // --- 2: the UI with the list at rest.
    const prof1 = join(work.path, 'chromium-1');
    ui = await openUi(front.url, prof1, collector.password);
    console.log(`login to first rows: ${f1(ui.first)} ms`);
    await until(async () => /^([\d,]+) of \1 devices$/.test((await ui.page.textContent('#device-count')) ?? '') &&
      Number((await ui.page.textContent('#device-count')).split(' ')[0].replace(/,/g, '')) >= n * 0.999, { timeout: 120000, every: 50, what: 'all rows' });
    console.log(`login to all ${n} rows loaded, filtered and sorted: ${f1(performance.now() - ui.t0)} ms (${await ui.page.textContent('#device-live')})`);
    await sleep(2000);
    await memory(ui.page, prof1);
    await ui.page.focus('#device-table');
    printFrames('scroll 120 px/frame, list at rest', await scrollFrames(ui.page, 5000, 120));
    printFrames('scroll 2 000 px/frame (fling), list at rest', await scrollFrames(ui.page, 5000, 2000));
    const tSort = await ui.page.evaluate(async () => {
      const t = performance.now();
      document.querySelector('[role=columnheader] button')?.click();
      await new Promise((r) => setTimeout(r, 0));
      await new Promise((r) => requestAnimationFrame(() => r()));
      return performance.now() - t;
    });
    console.log(`sort by name (click to next frame): ${f1(tSort)} ms; ${await ui.page.textContent('#device-live')}`);
    await ui.page.fill('#f-q', 'hopwire-test-7');
    await sleep(600);
    console.log(`search "hopwire-test-7": ${await ui.page.textContent('#device-count')}; ${await ui.page.textContent('#device-live')}`);
    await ui.ctx.close();
    ui = null;

    // --- 3: ingest with and without the UI.
    const loop = new Sensor(collector, `${cap}:name=loop,realtime=false,loop=true`);
    sensors.push(loop);
    await loop.start();
    await sleep(5000);
    const without = await ingestRate(collector, SECONDS);
    console.log(`ingest, no browser: ${Math.round(without)} packets/s (${SECONDS} s)`);
    const prof2 = join(work.path, 'chromium-2');
    ui = await openUi(front.url, prof2, collector.password);
    console.log(`login to first rows while ingesting: ${f1(ui.first)} ms`);
    await until(async () => (await ui.page.textContent('#device-live'))?.startsWith('live'), { timeout: 120000, every: 100, what: 'live' });
    console.log(`login to all rows while ingesting: ${f1(performance.now() - ui.t0)} ms`);
    await sleep(3000);
    const polls = [];
    ui.page.on('requestfinished', async (r) => {
      if (/last-time/.test(r.url())) {
        const t = r.timing();
        const size = (await r.sizes().catch(() => ({ responseBodySize: 0 }))).responseBodySize;
        polls.push({ ms: t.responseEnd, size });
      }
    });
    const withUi = await ingestRate(collector, SECONDS);
    console.log(`ingest, UI open on the device list: ${Math.round(withUi)} packets/s (${SECONDS} s) = ${f1((100 * withUi) / without)} % of without`);
    console.log(`UI delta polls during that: ${polls.length}, median ${f1(pct(polls.map((p) => p.ms), 50))} ms, median ${mib(pct(polls.map((p) => p.size), 50))}; ${await ui.page.textContent('#device-live')}`);
    await ui.page.focus('#device-table');
    printFrames('scroll 120 px/frame while the list updates', await scrollFrames(ui.page, 5000, 120));
    await memory(ui.page, prof2);
  } finally {
    await ui?.ctx.close().catch(() => {});
    for (const s of sensors) await s.stop();
    await front.close();
    await collector.stop();
    work.remove();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
