// The device list the UI shows, kept live without ever re-reading it whole:
//
// 1. The collector's clock is read (system/status.json), then the whole list
//    is streamed once as one object per line (devices.itjson), with only the
//    fields the table needs (Kismet's `fields` simplification, short
//    aliases), so the first rows show while the rest arrives.
// 2. From then on `POST devices/last-time/TS/devices.json` with the same
//    fields returns only what changed since TS ("at or after", collector
//    time); its kismet.devicelist.timestamp is the next TS. On the event bus,
//    NEW_DEVICE adds devices at once.
import { signal } from '@preact/signals';
import { ApiError, getJson, postJson, streamLines } from '../api';
import { busState, subscribe } from '../eventbus';
import { pollMs } from '../prefs';

export interface DeviceRow {
  key: string;
  mac: string;
  name: string;
  username: string;
  type: string;
  crypt: string;
  manuf: string;
  randomized: boolean;
  first: number;
  last: number;
  mod: number;
  packets: number;
  bytes: number;
  channel: string;
  freq: number;
  signal: number;
  ssids: string[];
  probed: string[];
  sensors: string[];
  clients: number;
  lat: number | null;
  lon: number | null;
  /** Lower-case text that free-text search looks in; rebuilt on change. */
  hay: string | null;
}

type Field = [string, string];

/**
 * The fields the table, its filters, the channel view and the map use. With
 * `throughArrays` the collector walks arrays in field paths (seen-by UUIDs,
 * SSID strings); without, the whole sub-records come and are picked apart here.
 */
export function rowFields(throughArrays: boolean): Field[] {
  const a = throughArrays;
  return [
    ['kismet.device.base.key', 'k'],
    ['kismet.device.base.macaddr', 'm'],
    ['kismet.device.base.commonname', 'n'],
    ['kismet.device.base.username', 'u'],
    ['kismet.device.base.type', 't'],
    ['kismet.device.base.crypt', 'c'],
    ['kismet.device.base.manuf', 'o'],
    ['hopwire.device.randomized_mac', 'r'],
    ['kismet.device.base.first_time', 'f'],
    ['kismet.device.base.last_time', 'l'],
    ['kismet.device.base.mod_time', 'mt'],
    ['kismet.device.base.packets.total', 'p'],
    ['kismet.device.base.datasize', 'b'],
    ['kismet.device.base.channel', 'ch'],
    ['kismet.device.base.frequency', 'fq'],
    ['kismet.device.base.signal/kismet.common.signal.last_signal', 's'],
    a ? ['kismet.device.base.seenby/kismet.common.seenby.uuid', 'sb'] : ['kismet.device.base.seenby', 'sb'],
    a
      ? ['dot11.device/dot11.device.advertised_ssid_map/dot11.advertisedssid.ssid', 'as']
      : ['dot11.device/dot11.device.advertised_ssid_map', 'as'],
    a
      ? ['dot11.device/dot11.device.responded_ssid_map/dot11.advertisedssid.ssid', 'rs']
      : ['dot11.device/dot11.device.responded_ssid_map', 'rs'],
    a ? ['dot11.device/dot11.device.probed_ssid_map/dot11.probedssid.ssid', 'ps'] : ['dot11.device/dot11.device.probed_ssid_map', 'ps'],
    ['dot11.device/dot11.device.num_associated_clients', 'nc'],
    ['kismet.device.base.location/kismet.common.location.avg_loc/kismet.common.location.geopoint', 'g'],
  ];
}

function strings(v: unknown, sub: string): string[] {
  if (!Array.isArray(v) || v.length === 0) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (x && typeof x === 'object') {
      const s = (x as Record<string, unknown>)[sub];
      if (typeof s === 'string') out.push(s);
    }
  }
  return out;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v == null || v === 0 ? '' : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v) || 0);

/** One answer object (aliased fields) to a row. */
export function toRow(o: Record<string, unknown>, into?: DeviceRow): DeviceRow {
  const g = o.g;
  let lat: number | null = null;
  let lon: number | null = null;
  if (Array.isArray(g) && g.length >= 2 && (g[0] !== 0 || g[1] !== 0)) {
    lon = num(g[0]);
    lat = num(g[1]);
  }
  const r = into ?? ({} as DeviceRow);
  r.key = str(o.k);
  r.mac = str(o.m);
  r.name = str(o.n);
  r.username = str(o.u);
  r.type = str(o.t);
  r.crypt = str(o.c);
  r.manuf = str(o.o);
  r.randomized = o.r === true || o.r === 1;
  r.first = num(o.f);
  r.last = num(o.l);
  r.mod = num(o.mt);
  r.packets = num(o.p);
  r.bytes = num(o.b);
  r.channel = str(o.ch);
  r.freq = num(o.fq);
  r.signal = num(o.s);
  // A light delta (see below) leaves out the lists: keep what the row has.
  if ('as' in o || !into) {
    const ssids = strings(o.as, 'dot11.advertisedssid.ssid');
    for (const s of strings(o.rs, 'dot11.advertisedssid.ssid')) if (!ssids.includes(s)) ssids.push(s);
    r.ssids = ssids.filter((s) => s !== '');
  }
  if ('ps' in o || !into) r.probed = strings(o.ps, 'dot11.probedssid.ssid').filter((s) => s !== '');
  if ('sb' in o || !into) r.sensors = strings(o.sb, 'kismet.common.seenby.uuid');
  r.clients = num(o.nc);
  r.lat = lat;
  r.lon = lon;
  r.hay = null;
  return r;
}

export interface LoadState {
  phase: 'idle' | 'loading' | 'live' | 'stale' | 'error';
  loaded: number;
  expected: number;
  message: string;
  /** Collector time (Unix s) of the newest answer. */
  serverTime: number;
  /** Wall-clock ms when the last answer arrived. */
  updatedAt: number;
  /** Rows added or changed by the last delta. */
  lastDelta: number;
}

export const rows: DeviceRow[] = [];
export const byKey = new Map<string, DeviceRow>();
/** Bumped (at most a few times a second) whenever rows change. */
export const version = signal(0);
export const load = signal<LoadState>({
  phase: 'idle', loaded: 0, expected: 0, message: '', serverTime: 0, updatedAt: 0, lastDelta: 0,
});
/** The field list in use (decided once per full load). */
let fields: Field[] = rowFields(false);
/**
 * Without array walking, seen-by and SSID lists come as whole records (about
 * 1 KB a device). Then most deltas leave them out ("light") and one every
 * HEAVY_EVERY_MS brings them for everything changed since the last such one.
 */
const LIST_ALIASES = new Set(['sb', 'as', 'rs', 'ps']);
const HEAVY_EVERY_MS = 15000;
let lightFields: Field[] = fields;
let sinceHeavy = 0;
let lastHeavyAt = 0;
export const fieldsThroughArrays = signal(false);

let bumpTimer = 0;
let bumpDue = 0;
function bump(delay: number) {
  const due = performance.now() + delay;
  if (bumpTimer && bumpDue <= due) return;
  clearTimeout(bumpTimer);
  bumpDue = due;
  bumpTimer = window.setTimeout(() => {
    bumpTimer = 0;
    version.value++;
  }, delay);
}

/** Adds or updates a row; returns 'new', 'changed' or '' (not a device). */
function upsert(o: Record<string, unknown>): '' | 'new' | 'changed' {
  const key = o.k;
  if (typeof key !== 'string' || !key) return '';
  const cur = byKey.get(key);
  if (cur) {
    toRow(o, cur);
    return 'changed';
  }
  const r = toRow(o);
  byKey.set(key, r);
  rows.push(r);
  return 'new';
}

/** The lists (seen-by, SSIDs) of devices a light delta brought for the first time. */
async function fillLists(macs: string[]) {
  try {
    const ans = await postJson<Record<string, unknown>[]>('devices/multimac/devices.json', { devices: macs, fields }, { signal: abort?.signal });
    for (const o of ans) upsert(o);
    bump(0);
  } catch {
    lastHeavyAt = -Infinity; // the next delta brings them
  }
}

/** Does this collector walk arrays in field paths? Asked once per load. */
async function probeFields(signal: AbortSignal): Promise<boolean> {
  try {
    const ans = await postJson<Record<string, unknown>[]>(
      'devices/views/all/devices.json',
      { fields: [['kismet.device.base.seenby/kismet.common.seenby.uuid', 'x']], length: 20 },
      { signal },
    );
    return Array.isArray(ans) && ans.some((d) => Array.isArray(d.x));
  } catch {
    return false;
  }
}

let generation = 0;
let abort: AbortController | null = null;
let pollTimer = 0;
let since = 0;
let failures = 0;
let unsubscribeBus: (() => void) | null = null;

export function startDevices() {
  stopDevices();
  const gen = ++generation;
  abort = new AbortController();
  void fullLoad(gen, abort.signal);
}

export function stopDevices() {
  generation++;
  abort?.abort();
  abort = null;
  clearTimeout(pollTimer);
  unsubscribeBus?.();
  unsubscribeBus = null;
}

/** Drops everything and reads the list again (after evictions, or on demand). */
export function reloadDevices() {
  rows.length = 0;
  byKey.clear();
  version.value++;
  startDevices();
}

async function fullLoad(gen: number, sig: AbortSignal) {
  const t0 = performance.now();
  load.value = { ...load.value, phase: 'loading', loaded: rows.length, message: '' };
  try {
    const [status, through] = await Promise.all([
      getJson<Record<string, unknown>>('system/status.json', { signal: sig }),
      probeFields(sig),
    ]);
    const serverNow = num(status['kismet.system.timestamp.sec']);
    const expected = num(status['kismet.system.devices.count']);
    load.value = { ...load.value, expected, serverTime: serverNow };
    fieldsThroughArrays.value = through;
    fields = rowFields(through);
    lightFields = through ? fields : fields.filter((f) => !LIST_ALIASES.has(f[1]));
    let first = true;
    await streamLines(
      'devices/views/all/devices.itjson',
      { fields },
      (objs) => {
        if (gen !== generation) return;
        for (const o of objs) upsert(o as Record<string, unknown>);
        load.value = { ...load.value, loaded: rows.length };
        // The first rows at once; then a few redraws a second while loading.
        bump(first ? 0 : 400);
        first = false;
      },
      sig,
    );
    if (gen !== generation) return;
    since = serverNow;
    sinceHeavy = serverNow;
    lastHeavyAt = performance.now();
    failures = 0;
    load.value = {
      ...load.value,
      phase: 'live',
      loaded: rows.length,
      updatedAt: Date.now(),
      message: `loaded ${rows.length} devices in ${Math.round(performance.now() - t0)} ms`,
    };
    bump(0);
    listenBus();
    schedulePoll(gen, 0);
  } catch (e) {
    if (gen !== generation || (e as Error).name === 'AbortError') return;
    load.value = { ...load.value, phase: 'error', message: String((e as Error).message ?? e) };
    if (!(e instanceof ApiError && e.status === 401)) {
      pollTimer = window.setTimeout(() => {
        if (gen === generation) void fullLoad(gen, sig);
      }, 5000);
    }
  }
}

function schedulePoll(gen: number, delay: number) {
  clearTimeout(pollTimer);
  pollTimer = window.setTimeout(() => void poll(gen), delay);
}

async function poll(gen: number) {
  if (gen !== generation) return;
  const started = performance.now();
  const heavy = lightFields === fields || started - lastHeavyAt >= HEAVY_EVERY_MS;
  try {
    const ans = await postJson<Record<string, unknown>>(
      `devices/last-time/${heavy ? sinceHeavy : since}/devices.json`,
      { fields: heavy ? fields : lightFields },
      { signal: abort?.signal },
    );
    if (gen !== generation) return;
    const list = (ans['kismet.device.list'] as Record<string, unknown>[]) ?? [];
    let changed = 0;
    const fresh: string[] = [];
    for (const o of list) {
      const u = upsert(o);
      if (u) changed++;
      if (u === 'new' && !heavy) fresh.push(String(o.m));
    }
    if (fresh.length > 2000) lastHeavyAt = -Infinity;
    else if (fresh.length) await fillLists(fresh);
    const ts = num(ans['kismet.devicelist.timestamp']);
    if (ts) {
      since = ts;
      if (heavy) {
        sinceHeavy = ts;
        lastHeavyAt = started;
      }
    }
    failures = 0;
    load.value = {
      ...load.value,
      phase: 'live',
      loaded: rows.length,
      serverTime: ts || load.value.serverTime,
      updatedAt: Date.now(),
      lastDelta: changed,
    };
    if (changed) bump(0);
  } catch (e) {
    if (gen !== generation || (e as Error).name === 'AbortError') return;
    if (e instanceof ApiError && e.status === 401) return;
    failures++;
    load.value = { ...load.value, phase: 'stale', message: String((e as Error).message ?? e) };
  }
  // A hidden tab asks less often; errors back off to 15 s. A delta that
  // took long (the collector is busy, or most devices changed) spaces the
  // next one out, so the UI never keeps the collector serialising most of
  // the time: at most about a fifth of wall time goes to these requests.
  const took = performance.now() - started;
  const base = document.hidden ? Math.max(5000, pollMs.value * 5) : pollMs.value;
  const wait = failures ? Math.min(15000, base * 2 ** failures) : Math.max(base, took * 4);
  schedulePoll(gen, Math.max(100, Math.min(30000, wait - took)));
}

function listenBus() {
  unsubscribeBus?.();
  // New devices at once when the bus is there (the next delta poll brings
  // the rest of their changes).
  unsubscribeBus = subscribe(
    'NEW_DEVICE',
    (value) => {
      if (value && typeof value === 'object' && upsert(value as Record<string, unknown>)) bump(200);
    },
    fields,
  );
  void busState.value;
}

/** The row for a key, if the list has it. */
export const device = (key: string) => byKey.get(key);
