#!/usr/bin/env node
// Browser tests of the web UI (issue 16): a real collector on loopback, real
// sensors replaying captures from tests/data, Debian's chromium driven by
// playwright-core, axe-core on every page. One command:
//
//   node tests/ui/run.mjs            (HOPWIRE_BUILD_DIR, default ./build)
//
// Where the UI comes from: until the collector serves it, a small front
// (lib/front.mjs) serves collector/web/dist with the collector's headers and
// passes everything else to the collector, on one origin. Set
// HOPWIRE_UI_FROM=collector to load the UI from the collector itself.
// Screenshots go to $HOPWIRE_BUILD_DIR/ui-test/screenshots. Ends with
// "N passed, N failed, N skipped"; exit status 1 if any failed.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BUILD_DIR, Collector, DATA, Sensor, WEB, craftCapture, ensureDir, ensureUiBuilt, launchBrowser, sleep, tempDir, until } from './lib/harness.mjs';
import { startFront } from './lib/front.mjs';
import { writeDeauthFlood } from './lib/pcap.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const OUT = ensureDir(process.env.HOPWIRE_UI_OUT ?? join(BUILD_DIR, 'ui-test'));
const SHOTS = ensureDir(join(OUT, 'screenshots'));
for (const f of readdirSync(SHOTS)) if (f.endsWith('.png')) rmSync(join(SHOTS, f));
const ONLY = process.env.HOPWIRE_UI_ONLY ? new RegExp(process.env.HOPWIRE_UI_ONLY) : null;
const REPLAY = join(DATA, 'aircrack_n-02.cap');
const AP_MAC = 'B0:B9:8A:56:8D:EA'; // "Neheb" in aircrack_n-02.cap
const AP_KEY = '4202770D00000000_0000B0B98A568DEA';

class Skip extends Error {}
const skip = (why) => {
  throw new Skip(why);
};
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

// ---- shared state -------------------------------------------------------
const work = tempDir('hopwire-ui-');
const S = { collector: null, front: null, base: '', browser: null, admin: null, page: null, sensors: [], violations: [], external: [], axe: {} };

/** A browser context that records CSP violations and requests off this origin. */
async function newContext() {
  const ctx = await S.browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const origin = new URL(S.base).origin;
  ctx.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) S.external.push(u);
  });
  return ctx;
}

async function checkCsp(page, where) {
  const v = await page.evaluate(() => window.__csp ?? []);
  for (const x of v) S.violations.push(`${where}: ${x}`);
  assert(v.length === 0, `CSP violations on ${where}: ${v.join('; ')}`);
}

/** axe-core on the page as it is: no serious or critical violations. */
async function axe(page, where) {
  await page.evaluate(AXE);
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')) }));
  });
  S.axe[where] = res;
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert(bad.length === 0, `axe on ${where}: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`);
  await checkCsp(page, where);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function goto(page, hash) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForFunction(() => !document.querySelector('main p[aria-live]')?.textContent?.startsWith('Loading…'), null, { timeout: 10000 }).catch(() => {});
}

const count = async (page) => {
  const t = await page.textContent('#device-count');
  const m = /([\d,]+) of ([\d,]+) devices/.exec(t ?? '');
  return m ? { shown: Number(m[1].replace(/,/g, '')), total: Number(m[2].replace(/,/g, '')) } : { shown: -1, total: -1, text: t };
};

async function restKeys(body) {
  const list = await S.collector.json('/devices/views/all/devices.json', { body: { fields: ['kismet.device.base.key'], ...body } });
  return new Set(list.map((d) => d['kismet.device.base.key']));
}

/** The keys the device table shows now: its own CSV download. */
async function uiKeys(page) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('text=Download CSV')]);
  const rows = parseCsv(readFileSync(await dl.path(), 'utf8'));
  const k = rows[0].indexOf('Key');
  assert(k >= 0, `no Key column in the CSV: ${rows[0]}`);
  return new Set(rows.slice(1).map((r) => r[k]).filter(Boolean));
}

/** RFC 4180 CSV: quoted fields with "" escapes, commas and newlines inside. */
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') q = false;
      else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
const diff = (a, b) => [...a].filter((x) => !b.has(x)).slice(0, 5);

async function setFilter(page, id, value) {
  const el = await page.$(`#${id}`);
  const tag = await el.evaluate((e) => e.tagName);
  if (tag === 'SELECT') await page.selectOption(`#${id}`, value);
  else await page.fill(`#${id}`, value);
  await sleep(400); // debounce + recompute
}

async function clearFilters(page) {
  if (!(await page.$('#f-q'))) await goto(page, '#/devices');
  await page.waitForSelector('#f-q');
  for (const id of ['f-q', 'f-ssid', 'f-manuf', 'f-signal']) await page.fill(`#${id}`, '');
  for (const id of ['f-type', 'f-crypt', 'f-sensor', 'f-within', 'f-rnd']) await page.selectOption(`#${id}`, '');
  await sleep(400);
}

// ---- tests --------------------------------------------------------------

test('setup: collector, two sensors replaying a capture, the UI', async () => {
  ensureUiBuilt({ force: process.env.HOPWIRE_UI_REBUILD === '1' });
  S.collector = await new Collector(work.path).start();
  if (process.env.HOPWIRE_UI_FROM === 'collector') {
    S.base = S.collector.url + '/';
  } else {
    S.front = await startFront({ dist: join(WEB, 'dist'), collector: S.collector.url });
    S.base = S.front.url;
  }
  for (const name of ['s1', 's2']) {
    const s = new Sensor(S.collector, `${REPLAY}:name=${name},realtime=false`);
    S.sensors.push(s);
    const code = await s.run(60000);
    assert(code === 0, `sensor ${name} exited ${code}: ${s.output()}`);
  }
  const srcs = await S.collector.json('/datasource/all_sources.json');
  assert(srcs.length === 2, `expected 2 sources, got ${srcs.length}`);
  S.uuids = Object.fromEntries(srcs.map((s) => [s['kismet.datasource.name'], s['kismet.datasource.uuid']]));
  S.browser = await launchBrowser(chromium);
});

test('login page says where the generated password is; a wrong one is refused', async () => {
  S.admin = await newContext();
  const page = (S.page = await S.admin.newPage());
  await page.goto(S.base);
  await page.waitForSelector('#login-password');
  const text = await page.textContent('main');
  assert(text.includes('<state-dir>/admin-password'), 'login page does not name <state-dir>/admin-password');
  assert(/no default password/i.test(text), 'login page does not say there is no default password');
  await axe(page, 'login');
  await shot(page, 'login');
  await page.fill('#login-password', 'not-the-password');
  await page.click('button[type=submit]');
  await page.waitForSelector('.login .error[role=alert]');
  assert(/wrong user name or password/i.test(await page.textContent('.login .error')), 'no clear message for a wrong password');
});

test('admin logs in with the generated password; devices appear', async () => {
  const page = S.page;
  await page.fill('#login-password', S.collector.password);
  const t0 = Date.now();
  await page.click('button[type=submit]');
  await page.waitForSelector('#device-table [role=row][aria-rowindex="2"]');
  S.loginMs = Date.now() - t0;
  const rest = await restKeys({});
  await until(async () => (await count(page)).total === rest.size, { what: `${rest.size} devices in the table` });
  await until(async () => /admin$/.test((await page.textContent('#whoami')).trim()), { what: 'the header to show the admin role' });
  await axe(page, 'devices');
  await shot(page, 'devices');
});

test('devices appear and update without a reload (last-time deltas, never the whole list again)', async () => {
  const page = S.page;
  const before = (await count(page)).total;
  await page.evaluate(() => (window.__sameDocument = true));
  const urls = [];
  const onReq = (r) => urls.push(r.url());
  page.on('request', onReq);
  // A third sensor paced at 400 packets/s brings 10 APs and 60 clients over ~10 s.
  const cap = craftCapture(work.path, 4000, { aps: 10, clients: 60 });
  const s3 = new Sensor(S.collector, `${cap}:name=s3,pps=400`);
  S.sensors.push(s3);
  await s3.start();
  let grew = 0;
  await until(async () => {
    const c = await count(page);
    grew = c.total - before;
    return grew >= 70;
  }, { timeout: 30000, what: '70 new devices in the table' });
  // The packet count of one access point moves while the replay goes on.
  await setFilter(page, 'f-q', '02:00:00:00:00:01');
  const pk = async () => Number((await page.textContent('#device-table [aria-rowindex="2"] [role=gridcell]:nth-child(9)'))?.replace(/,/g, '') || 0);
  const p0 = await pk();
  await until(async () => (await pk()) > p0, { timeout: 15000, what: `the packet count of 02:00:00:00:00:01 to grow from ${p0}` });
  assert((await s3.wait(60000)) === 0, `sensor s3 failed: ${s3.output()}`);
  await clearFilters(page);
  page.off('request', onReq);
  assert(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
  const full = urls.filter((u) => /devices\/views\/all\/devices\.(itjson|json)/.test(u) && !/length/.test(u));
  const deltas = urls.filter((u) => /devices\/last-time\/\d+\/devices\.json/.test(u));
  assert(full.length <= 1, `the whole list was read ${full.length} times during the update (only the capability probe may ask)`);
  assert(deltas.length >= 5, `only ${deltas.length} last-time polls`);
  const rest = await restKeys({});
  await until(async () => (await count(page)).total === rest.size, { what: `table to reach the collector's ${rest.size} devices` });
  await shot(page, 'devices-live');
});

test('filters and search give the same set as the REST API', async () => {
  const page = S.page;
  await clearFilters(page);
  const ssidPaths = [
    'dot11.device/dot11.device.advertised_ssid_map/dot11.advertisedssid.ssid',
    'dot11.device/dot11.device.responded_ssid_map/dot11.advertisedssid.ssid',
    'dot11.device/dot11.device.probed_ssid_map/dot11.probedssid.ssid',
  ];
  const search = (q) => ['kismet.device.base.macaddr', 'kismet.device.base.commonname', 'kismet.device.base.manuf', ...ssidPaths].map((p) => [p, `(?i)${q}`]);
  const all = await S.collector.json('/devices/views/all/devices.json', {
    body: { fields: ['kismet.device.base.key', 'hopwire.device.randomized_mac', 'kismet.device.base.type'] },
  });
  const where = (pred) => new Set(all.filter(pred).map((d) => d['kismet.device.base.key']));
  const inter = (a, b) => new Set([...a].filter((x) => b.has(x)));
  const cases = [
    ['search "hopwire-test-1"', { 'f-q': 'hopwire-test-1' }, () => restKeys({ regex: search('hopwire-test-1') })],
    ['search "neheb"', { 'f-q': 'neheb' }, () => restKeys({ regex: search('neheb') })],
    ['search a MAC prefix "b0:b9"', { 'f-q': 'b0:b9' }, () => restKeys({ regex: search('b0:b9') })],
    ['type AP', { 'f-type': 'Wi-Fi AP' }, () => restKeys({ regex: [['kismet.device.base.type', '^Wi-Fi AP$']] })],
    ['SSID "Neheb"', { 'f-ssid': 'Neheb' }, () => restKeys({ regex: ssidPaths.map((p) => [p, '(?i)Neheb']) })],
    ['manufacturer "netgear"', { 'f-manuf': 'netgear' }, () => restKeys({ regex: [['kismet.device.base.manuf', '(?i)netgear']] })],
    ['encryption WPA2', { 'f-crypt': 'WPA2' }, () => restKeys({ regex: [['kismet.device.base.crypt', '(^|/)WPA2(/|$)']] })],
    ['seen by s3', { 'f-sensor': S.uuids?.s3 ?? '' }, () => restKeys({ regex: [['kismet.device.base.seenby/kismet.common.seenby.uuid', `^${S.uuids?.s3}$`]] })],
    ['randomised MACs', { 'f-rnd': 'yes' }, async () => where((d) => d['hopwire.device.randomized_mac'] === true)],
    ['clients whose MAC starts 06:00', { 'f-type': 'Wi-Fi Client', 'f-q': '06:00' }, async () =>
      inter(await restKeys({ regex: search('06:00') }), await restKeys({ regex: [['kismet.device.base.type', '^Wi-Fi Client$']] }))],
  ];
  const srcs = await S.collector.json('/datasource/all_sources.json');
  S.uuids = Object.fromEntries(srcs.map((s) => [s['kismet.datasource.name'], s['kismet.datasource.uuid']]));
  cases[7][1]['f-sensor'] = S.uuids.s3;
  const results = [];
  for (const [label, filters, rest] of cases) {
    await clearFilters(page);
    for (const [id, v] of Object.entries(filters)) await setFilter(page, id, v);
    const want = await rest();
    const got = await until(async () => {
      const k = await uiKeys(page);
      return sameSet(k, want) ? k : null;
    }, { timeout: 5000, every: 500, what: label }).catch(async () => uiKeys(page));
    results.push(`${label}: UI ${got.size}, REST ${want.size}`);
    assert(want.size > 0, `${label}: the REST answer is empty, the case proves nothing`);
    assert(sameSet(got, want), `${label}: UI has ${got.size}, REST ${want.size}; only in UI ${diff(got, want)}, only in REST ${diff(want, got)}`);
  }
  await shot(page, 'devices-filtered');
  await clearFilters(page);
  console.log('    ' + results.join('\n    '));
});

test('column chooser and sorting', async () => {
  const page = S.page;
  await clearFilters(page);
  await page.click('summary:has-text("Columns")');
  await page.check('label.check:has-text("Key") input');
  await page.waitForSelector('[role=columnheader]:has-text("Key")');
  await page.uncheck('label.check:has-text("Key") input');
  await page.click('summary:has-text("Columns")');
  await page.click('[role=columnheader] button:has-text("Packets")');
  await sleep(300);
  const vals = await page.$$eval('#device-table [role=row][aria-rowindex] [role=gridcell]:nth-child(9)', (els) => els.slice(0, 20).map((e) => Number(e.textContent.replace(/,/g, ''))));
  const sorted = [...vals].sort((a, b) => b - a);
  assert(vals.length > 5 && vals.every((v, i) => v === sorted[i]), `not sorted by packets, descending: ${vals}`);
  assert((await page.getAttribute('[role=columnheader]:has-text("Packets")', 'aria-sort')) === 'descending', 'aria-sort not set');
});

test('keyboard: every control is reachable with Tab; the grid moves with arrows and opens with Enter', async () => {
  const page = S.page;
  await goto(page, '#/devices');
  await page.waitForSelector('#device-table [aria-rowindex="2"]');
  const missed = await tabThrough(page);
  assert(missed.length === 0, `not reachable by Tab on devices: ${missed.join(', ')}`);
  await page.focus('#device-table');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const active = await page.getAttribute('#device-table', 'aria-activedescendant');
  assert(active && active.endsWith('-r2'), `arrow keys did not move the active row (${active})`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('h2:has-text("Overview")');
  assert((await page.evaluate(() => location.hash)).startsWith('#/device/'), 'Enter did not open the device page');
  await goto(page, '#/devices');
});

/** Tabs through the page; returns the visible, enabled controls focus never reached. */
async function tabThrough(page, max = 400) {
  await page.evaluate(() => {
    let i = 0;
    for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')) {
      el.dataset.tabId = String(i++);
    }
    document.activeElement?.blur?.();
    window.scrollTo(0, 0);
  });
  const seen = new Set();
  await page.focus('body');
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.dataset?.tabId ?? null);
    if (id !== null) {
      if (seen.has(id) && seen.size > 3) break;
      seen.add(id);
    }
  }
  return page.evaluate((seenIds) => {
    const seenSet = new Set(seenIds);
    const out = [];
    for (const el of document.querySelectorAll('[data-tab-id]')) {
      const st = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      const hidden = r.width === 0 || r.height === 0 || st.visibility === 'hidden' || el.closest('[hidden], details:not([open]) > :not(summary)');
      if (hidden || el.disabled || el.tabIndex < 0) continue;
      if (!seenSet.has(el.dataset.tabId)) out.push(el.id || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30) || el.tagName);
    }
    return out;
  }, [...seen]);
}

test('device page: two sensors in seen-by, SSIDs, clients, pcap links, name and tag controls', async () => {
  const page = S.page;
  await goto(page, '#/devices');
  await setFilter(page, 'f-q', 'neheb');
  await page.click('#device-table [role=row][aria-rowindex="2"] a');
  await page.waitForSelector('#seenby tbody tr');
  const names = await page.$$eval('#seenby tbody tr td:first-child', (els) => els.map((e) => e.textContent.trim()).sort());
  assert(names.length === 2 && names[0] === 's1' && names[1] === 's2', `seen-by shows ${names}`);
  const text = await page.textContent('main');
  assert(text.includes(AP_MAC) && text.includes('Neheb') && text.includes('WPA2'), 'device page lacks MAC, SSID or encryption');
  assert(text.includes('Clients'), 'AP page lists no clients');
  const live = await page.getAttribute('a:has-text("Live pcap-ng")', 'href');
  const hist = await page.getAttribute('a:has-text("Historic pcap-ng")', 'href');
  assert(live.endsWith(`devices/pcap/by-key/${AP_KEY}/packets.pcapng`), `live link ${live}`);
  assert(hist.includes(`pcap/history.pcapng?device=${AP_KEY}`), `history link ${hist}`);
  const h = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
  }, hist);
  assert(h.status === 200 && h.size > 100, `historic pcap-ng answered ${h.status}, ${h.size} bytes`);
  assert(await page.isVisible('#dev-name'), 'admin sees no name control');
  // Name via Kismet's set_name.cmd, where the collector has it.
  const hasSetName = (await S.collector.status(`/devices/by-key/${AP_KEY}/set_name.cmd`)) !== 404;
  if (hasSetName) {
    await page.fill('#dev-name', 'lobby-ap');
    await page.click('button:has-text("Set name")');
    await page.waitForSelector('h1:has-text("lobby-ap")', { timeout: 5000 });
  }
  await axe(page, 'device');
  await shot(page, 'device');
  S.notes = S.notes ?? [];
  if (!hasSetName) S.notes.push('set_name.cmd / set_tag.cmd: not on this collector (404); the UI shows the controls and says so when used');
  await clearFilters(page);
});

test('sensors page: link state, packets/s, drops, plan; admin controls', async () => {
  const page = S.page;
  await goto(page, `#/sensors/${S.uuids.s1}`);
  await page.waitForSelector('#sensor-table tbody tr');
  const rows = await page.$$eval('#sensor-table tbody tr', (els) => els.length);
  assert(rows === 3, `sensor table has ${rows} rows, want 3`);
  await page.waitForSelector('#ctl-channel');
  assert(await page.isVisible('button:has-text("Lock channel")'), 'admin sees no channel controls');
  await page.waitForTimeout(2500);
  await axe(page, 'sensors');
  await shot(page, 'sensors');
});

test('channels page: per-channel counts and the coverage heatmap', async () => {
  const page = S.page;
  await goto(page, '#/channels');
  await page.waitForSelector('#channel-table tbody tr');
  const chans = await page.$$eval('#channel-table tbody th', (els) => els.map((e) => e.textContent));
  assert(chans.includes('1') && chans.includes('6') && chans.includes('11'), `channels ${chans}`);
  await axe(page, 'channels');
  await shot(page, 'channels');
});

test('map page: no request leaves the collector by default', async () => {
  const page = S.page;
  await goto(page, '#/map');
  await page.waitForSelector('#map-h');
  await axe(page, 'map');
  await shot(page, 'map');
});

test('settings: create a read-only token in the UI (shown once), revoke another', async () => {
  const page = S.page;
  await goto(page, '#/settings');
  await page.waitForSelector('#token-table');
  const make = async (name, role) => {
    await page.fill('#tok-name', name);
    await page.selectOption('#tok-role', role);
    await page.fill('#tok-dur', '1d');
    await page.click('button:has-text("Create token")');
    await page.waitForSelector(`#new-token:has-text("${name}")`);
    return (await page.textContent('#new-token code')).trim();
  };
  S.readonlyToken = await make('ui-test-readonly', 'readonly');
  assert(/^hw_/.test(S.readonlyToken), `token ${S.readonlyToken}`);
  await make('ui-test-throwaway', 'scanreport');
  await page.waitForSelector('#token-table th:has-text("ui-test-throwaway")');
  page.once('dialog', (d) => d.accept());
  await page.click('#token-table tr:has-text("ui-test-throwaway") button:has-text("Revoke")');
  await until(async () => !(await page.$('#token-table th:has-text("ui-test-throwaway")')), { what: 'token gone' });
  const list = await S.collector.json('/auth/apikey/list.json');
  assert(list.some((t) => t['kismet.httpd.auth.name'] === 'ui-test-readonly'), 'token not created');
  assert(!list.some((t) => t['kismet.httpd.auth.name'] === 'ui-test-throwaway'), 'token not revoked');
  await page.click('button:has-text("Hide")');
  await axe(page, 'settings');
  await shot(page, 'settings');
});

test('every page: keyboard reachable', async () => {
  const page = S.page;
  for (const h of ['#/sensors/' + S.uuids.s1, '#/channels', '#/alerts', '#/map', '#/settings', `#/device/${AP_KEY}`]) {
    await goto(page, h);
    await sleep(800);
    const missed = await tabThrough(page);
    assert(missed.length === 0, `not reachable by Tab on ${h}: ${missed.join(', ')}`);
  }
});

test('read-only: signs in with a readonly token, sees no controls; a forged control request gets 403', async () => {
  assert(S.readonlyToken, 'no readonly token from the settings test');
  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(S.base);
  await page.click('[role=tab]:has-text("API token")');
  await page.fill('#login-token', S.readonlyToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('#device-table [role=row][aria-rowindex="2"]');
  await until(async () => (await page.textContent('#whoami')).includes('read-only'), { what: 'the header to say read-only' });
  const controls = [];
  for (const [h, sel] of [
    [`#/device/${AP_KEY}`, '#dev-name, button:has-text("Set tag")'],
    ['#/settings', '#token-table, #tok-name, button:has-text("reload the fleet")'],
    [`#/sensors/${S.uuids.s1}`, '#ctl-channel, button:has-text("Lock channel"), button:has-text("Set hop list")'],
  ]) {
    await goto(page, h);
    await page.waitForSelector('main h1, main h2');
    await sleep(2500);
    if (await page.$(sel)) controls.push(`${h}: ${sel}`);
  }
  assert(controls.length === 0, `read-only user sees controls: ${controls.join('; ')}`);
  await shot(page, 'readonly-sensors');
  const forged = await page.evaluate(async (uuid) => {
    const post = (u, b) => fetch(u, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' }, body: JSON.stringify(b) }).then((r) => r.status);
    return {
      setChannel: await post(`datasource/by-uuid/${uuid}/set_channel.cmd`, { channel: '6' }),
      setHop: await post(`datasource/by-uuid/${uuid}/set_hop.cmd`, {}),
      token: await post('auth/apikey/generate.cmd', { name: 'forged', role: 'admin' }),
      reload: await post('admin/reload.cmd', {}),
    };
  }, S.uuids.s1);
  for (const [k, v] of Object.entries(forged)) assert(v === 403, `forged ${k} answered ${v}, want 403`);
  await axe(page, 'devices (read-only)');
  await ctx.close();
});

test('alerts: an alert raised during the test appears within 2 s, with a notification', async () => {
  const st = await S.collector.status('/alerts/last-time/0/alerts.json');
  const page = S.page;
  await goto(page, '#/alerts');
  await page.waitForSelector('#al-h');
  if (st === 404) {
    await page.waitForSelector('#alerts-missing');
    await axe(page, 'alerts');
    await shot(page, 'alerts');
    skip('the collector has no /alerts routes yet (the page shows its note; checked)');
  }
  const cap = writeDeauthFlood(join(work.path, 'deauth.pcap'));
  const before = await page.$$eval('#alert-table tbody tr', (e) => e.length);
  const s = new Sensor(S.collector, `${cap}:name=attacker-view,realtime=false`);
  await s.start();
  let tRest = 0;
  const restWatch = (async () => {
    const t0 = Date.now();
    while (Date.now() - t0 < 15000) {
      const r = await S.collector.json('/alerts/last-time/0/alerts.json');
      const list = Array.isArray(r) ? r : r['kismet.alert.list'] ?? [];
      if (list.length) return (tRest = Date.now());
      await sleep(50);
    }
  })();
  await until(async () => (await page.$$eval('#alert-table tbody tr', (e) => e.length)) > before, { timeout: 15000, every: 50, what: 'an alert row' });
  const tUi = Date.now();
  await restWatch;
  assert(tRest, 'the REST API never showed the alert');
  assert(tUi - tRest <= 2000, `the alert took ${tUi - tRest} ms to appear after the API had it`);
  assert(await page.$('.toast-alert'), 'no notification toast');
  await s.wait(30000);
  await axe(page, 'alerts');
  await shot(page, 'alerts');
});

test('logout ends the session', async () => {
  const page = S.page;
  await goto(page, '#/devices');
  await page.click('#logout');
  await page.waitForSelector('#login-password');
  const hasRoute = (await S.collector.status('/session/logout.cmd')) !== 404;
  const st = await page.evaluate(() => fetch('session/check_session', { headers: { 'X-Requested-With': 'XMLHttpRequest' } }).then((r) => r.status));
  await page.reload();
  await page.waitForSelector('#login-password');
  await shot(page, 'logged-out');
  if (!hasRoute) skip(`the collector has no /session/logout.cmd: the page signs out, the cookie stays valid (check_session ${st})`);
  assert(st === 401, `after logout check_session answered ${st}`);
});

test('no CSP violation, no request off the collector', async () => {
  assert(S.violations.length === 0, S.violations.join('; '));
  assert(S.external.length === 0, `requests elsewhere: ${S.external.slice(0, 5).join(', ')}`);
});

// ---- runner -------------------------------------------------------------
let passed = 0;
let failed = 0;
let skipped = 0;
const report = [];
const started = Date.now();
for (const t of tests) {
  if (ONLY && !ONLY.test(t.name) && !/^(setup|login page|admin logs in|devices appear)/.test(t.name)) continue;
  const t0 = Date.now();
  try {
    await t.fn();
    passed++;
    console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    report.push({ name: t.name, result: 'pass' });
  } catch (e) {
    if (e instanceof Skip) {
      skipped++;
      console.log(`skip ${t.name}: ${e.message}`);
      report.push({ name: t.name, result: 'skip', why: e.message });
    } else {
      failed++;
      console.log(`FAIL ${t.name}: ${e.stack ?? e}`);
      report.push({ name: t.name, result: 'fail', why: String(e.message ?? e) });
      if (S.page) await shot(S.page, 'failed-' + t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)).catch(() => {});
      if (t.name.startsWith('setup')) break;
    }
  }
}
try {
  await S.browser?.close();
  for (const s of S.sensors) await s.stop();
  await S.front?.close();
  await S.collector?.stop();
} catch (e) {
  console.log('cleanup: ' + e);
}
writeFileSync(join(OUT, 'report.json'), JSON.stringify({ report, axe: S.axe, notes: S.notes ?? [], loginMs: S.loginMs, base: S.base }, null, 2));
if (failed && S.collector) {
  const log = S.collector.log();
  console.log('--- collector log (last 40 lines) ---\n' + log.split('\n').slice(-40).join('\n'));
}
if (!failed) work.remove();
else console.log(`kept ${work.path}`);
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped (${Math.round((Date.now() - started) / 1000)} s)`);
process.exit(failed ? 1 : 0);
