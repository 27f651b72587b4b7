// Kismet's event bus, /eventbus/events.ws, as the UI uses it.
//
// Protocol (Kismet 2025-09-R1): the client sends text frames, each one JSON
// object: {"SUBSCRIBE": TOPIC, "fields": [...]} (replaces an earlier
// subscription to TOPIC; "*" = every topic) and {"UNSUBSCRIBE": TOPIC}. The
// server sends one text frame per event: the event's content map, e.g.
// {"ALERT": {...alert...}} or {"MESSAGE": {...}}; for most topics the one key
// is the topic's name. `fields` simplification is applied to each value.
// There are no acknowledgements. Authentication is the KISMET cookie, which
// the browser sends with the upgrade request (same origin).
//
// The bus is optional: where the collector has no such route the connection
// fails before it opens, the module reports 'unavailable', the stores keep
// polling, and it tries again later.
import { signal } from '@preact/signals';
import { wsUrl } from './api';

export type BusState = 'off' | 'connecting' | 'open' | 'unavailable';
export const busState = signal<BusState>('off');

type Handler = (value: unknown, content: Record<string, unknown>) => void;

interface Sub {
  fields?: unknown[];
  handlers: Set<Handler>;
}

const subs = new Map<string, Sub>();
let ws: WebSocket | null = null;
let wanted = false;
let retryTimer = 0;
let failures = 0;

function send(obj: unknown) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function subscribeMsg(topic: string, sub: Sub) {
  const m: Record<string, unknown> = { SUBSCRIBE: topic, format: 'json' };
  if (sub.fields && sub.fields.length) m.fields = sub.fields;
  return m;
}

function dispatch(content: Record<string, unknown>) {
  for (const [key, value] of Object.entries(content)) {
    const s = subs.get(key);
    if (s) for (const h of s.handlers) h(value, content);
  }
  // Events whose content keys are not the topic (DOT11_WPA_HANDSHAKE, ...)
  // reach wildcard subscribers.
  const any = subs.get('*');
  if (any) for (const h of any.handlers) h(content, content);
}

function open() {
  if (!wanted || ws) return;
  busState.value = 'connecting';
  let opened = false;
  const sock = new WebSocket(wsUrl('eventbus/events.ws'));
  ws = sock;
  sock.onopen = () => {
    opened = true;
    failures = 0;
    busState.value = 'open';
    for (const [topic, sub] of subs) send(subscribeMsg(topic, sub));
  };
  sock.onmessage = (ev) => {
    if (typeof ev.data !== 'string') return;
    try {
      const content = JSON.parse(ev.data);
      if (content && typeof content === 'object') dispatch(content as Record<string, unknown>);
    } catch {
      /* not JSON: ignore, as Kismet's server does */
    }
  };
  sock.onclose = () => {
    ws = null;
    if (!wanted) {
      busState.value = 'off';
      return;
    }
    failures++;
    // Never opened: the route is missing (404) or refused us; poll instead
    // and look again in a few minutes. Opened and dropped: reconnect soon.
    const never = !opened;
    busState.value = never ? 'unavailable' : 'connecting';
    const delay = never ? Math.min(300_000, 30_000 * failures) : Math.min(30_000, 1000 * 2 ** Math.min(failures, 5));
    retryTimer = window.setTimeout(open, delay * (0.8 + Math.random() * 0.4));
  };
  sock.onerror = () => {
    /* onclose follows */
  };
}

export function startBus() {
  wanted = true;
  failures = 0;
  open();
}

export function stopBus() {
  wanted = false;
  clearTimeout(retryTimer);
  if (ws) ws.close();
  ws = null;
  busState.value = 'off';
}

/** Subscribes to a topic; returns the function that unsubscribes. */
export function subscribe(topic: string, handler: Handler, fields?: unknown[]): () => void {
  let s = subs.get(topic);
  if (!s) {
    s = { fields, handlers: new Set() };
    subs.set(topic, s);
    send(subscribeMsg(topic, s));
  }
  s.handlers.add(handler);
  return () => {
    const cur = subs.get(topic);
    if (!cur) return;
    cur.handlers.delete(handler);
    if (cur.handlers.size === 0) {
      subs.delete(topic);
      send({ UNSUBSCRIBE: topic });
    }
  };
}

export const busOpen = () => busState.value === 'open';
