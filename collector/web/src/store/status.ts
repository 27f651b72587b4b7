// /system/status.json, polled for the header (device count, packet rate, storage).
import { signal } from '@preact/signals';
import { getJson } from '../api';

export interface Status {
  raw: Record<string, unknown>;
  at: number;
  packetsPerSec: number;
}

export const status = signal<Status | null>(null);
let timer = 0;
let running = false;
let prev: { t: number; packets: number } | null = null;

async function tick() {
  try {
    const raw = await getJson<Record<string, unknown>>('system/status.json');
    const now = performance.now();
    const packets = Number(raw['hopwire.system.packets_received']) || 0;
    let pps = status.value?.packetsPerSec ?? 0;
    if (prev && now > prev.t) pps = Math.max(0, ((packets - prev.packets) * 1000) / (now - prev.t));
    prev = { t: now, packets };
    status.value = { raw, at: Date.now(), packetsPerSec: pps };
  } catch {
    /* the device store reports connection trouble */
  }
  if (running) timer = window.setTimeout(tick, document.hidden ? 15000 : 3000);
}

export function startStatus() {
  if (running) return;
  running = true;
  prev = null;
  void tick();
}

export function stopStatus() {
  running = false;
  clearTimeout(timer);
}
