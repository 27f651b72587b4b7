// Alerts: Kismet's /alerts/last-time/TS/alerts.json (TS in seconds with
// microseconds; alerts strictly newer are returned), polled every second, or
// ALERT events from the event bus when it is there. A collector without the
// route answers 404: the page says so and the store looks again each minute.
// Kismet has no acknowledge command; acknowledgements are kept in this browser.
import { computed, signal } from '@preact/signals';
import { getJson, isMissingRoute } from '../api';
import { busState, subscribe } from '../eventbus';
import { ackedAlerts, notifyAlerts } from '../prefs';
import { toast } from '../toast';

export interface Alert {
  hash: string;
  header: string;
  cls: string;
  severity: number;
  timestamp: number;
  text: string;
  channel: string;
  transmitter: string;
  source: string;
  dest: string;
  other: string;
  deviceKey: string;
  raw: Record<string, unknown>;
}

export const SEVERITY: Record<number, string> = { 0: 'info', 5: 'low', 10: 'medium', 15: 'high', 20: 'critical' };
export const severityName = (s: number) => SEVERITY[s] ?? String(s);

export const alerts = signal<Alert[]>([]);
/** null = not known yet; false = this collector has no alerts route. */
export const alertsAvailable = signal<boolean | null>(null);
export const alertsError = signal('');
export const unacked = computed(() => {
  const acked = new Set(ackedAlerts.value);
  return alerts.value.filter((a) => !acked.has(a.hash)).length;
});

const MAX = 5000;
let since = 0;
let timer = 0;
let running = false;
let primed = false;
let unsub: (() => void) | null = null;

const s = (v: unknown) => (v == null ? '' : String(v));

export function toAlert(o: Record<string, unknown>): Alert {
  const header = s(o['kismet.alert.header']);
  const ts = Number(o['kismet.alert.timestamp']) || 0;
  return {
    hash: s(o['kismet.alert.hash']) || `${header}-${ts}`,
    header,
    cls: s(o['kismet.alert.class']),
    severity: Number(o['kismet.alert.severity']) || 0,
    timestamp: ts,
    text: s(o['kismet.alert.text']),
    channel: s(o['kismet.alert.channel']),
    transmitter: s(o['kismet.alert.transmitter_mac']),
    source: s(o['kismet.alert.source_mac']),
    dest: s(o['kismet.alert.dest_mac']),
    other: s(o['kismet.alert.other_mac']),
    deviceKey: s(o['kismet.alert.device_key']),
    raw: o,
  };
}

function add(list: Record<string, unknown>[]) {
  if (!list.length) return;
  const have = new Set(alerts.value.map((a) => a.hash));
  const fresh: Alert[] = [];
  for (const o of list) {
    const a = toAlert(o);
    if (a.timestamp > since) since = a.timestamp;
    if (!have.has(a.hash)) {
      have.add(a.hash);
      fresh.push(a);
    }
  }
  if (!fresh.length) return;
  const next = [...fresh.reverse(), ...alerts.value].sort((a, b) => b.timestamp - a.timestamp).slice(0, MAX);
  alerts.value = next;
  if (primed) for (const a of fresh.slice(0, 3)) announce(a);
}

function announce(a: Alert) {
  toast(`Alert ${a.header} (${severityName(a.severity)}): ${a.text}`, 'alert', '#/alerts', 10000);
  if (notifyAlerts.value && 'Notification' in window && Notification.permission === 'granted') {
    try {
      new Notification(`Hopwire alert: ${a.header}`, { body: a.text, tag: a.hash });
    } catch {
      /* some browsers only allow notifications from a service worker */
    }
  }
}

async function poll() {
  try {
    const ans = await getJson<unknown>(`alerts/last-time/${since.toFixed(6)}/alerts.json`);
    let list: Record<string, unknown>[] = [];
    if (Array.isArray(ans)) list = ans as Record<string, unknown>[];
    else if (ans && typeof ans === 'object') {
      list = ((ans as Record<string, unknown>)['kismet.alert.list'] as Record<string, unknown>[]) ?? [];
    }
    alertsAvailable.value = true;
    alertsError.value = '';
    add(list);
    primed = true;
  } catch (e) {
    if (isMissingRoute(e)) alertsAvailable.value = false;
    else alertsError.value = String((e as Error).message ?? e);
  }
  if (!running) return;
  // With the bus open, ALERT events arrive at once; poll only as a safety net.
  const wait = alertsAvailable.value === false ? 60000 : busState.value === 'open' ? 15000 : document.hidden ? 5000 : 1000;
  timer = window.setTimeout(poll, wait);
}

export function startAlerts() {
  if (running) return;
  running = true;
  void poll();
  unsub = subscribe('ALERT', (value) => {
    if (value && typeof value === 'object') {
      alertsAvailable.value = true;
      add([value as Record<string, unknown>]);
    }
  });
}

export function stopAlerts() {
  running = false;
  clearTimeout(timer);
  unsub?.();
  unsub = null;
}

export function acknowledge(hashes: string[]) {
  const set = new Set(ackedAlerts.value);
  for (const h of hashes) set.add(h);
  // Keep the list bounded: only hashes of alerts still in the backlog, plus the new ones.
  const live = new Set(alerts.value.map((a) => a.hash));
  ackedAlerts.value = [...set].filter((h) => live.has(h) || hashes.includes(h)).slice(-MAX);
}

export function unacknowledge(hashes: string[]) {
  const drop = new Set(hashes);
  ackedAlerts.value = ackedAlerts.value.filter((h) => !drop.has(h));
}
