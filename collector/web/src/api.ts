// The collector's REST API, as the UI calls it. Every path is relative to the
// page (no leading slash), so the UI works at / and behind a reverse-proxy
// prefix (--uri-prefix /hopwire serves it at /hopwire/). Credentials travel
// only in the KISMET session cookie (HttpOnly, set by the collector on a
// password login) or, once, in the Authorization header of the login call.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    readonly body: string,
  ) {
    super(`${status} ${path}: ${body.trim().slice(0, 300) || statusText(status)}`);
  }
}

function statusText(s: number): string {
  switch (s) {
    case 0: return 'network error (is the collector running?)';
    case 401: return 'not signed in';
    case 403: return 'not allowed for this role';
    case 404: return 'not found';
    case 429: return 'too many failed logins; wait a few seconds';
    case 503: return 'collector busy; retry shortly';
    default: return 'error';
  }
}

/** Absolute URL of an API path, resolved against the page's location. */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\/+/, ''), document.baseURI).href;
}

/** WebSocket URL (ws: or wss:) of an API path. */
export function wsUrl(path: string): string {
  const u = new URL(apiUrl(path));
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

// Called on a 401 from any request but the login itself: the session ended.
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not treat a 401 as "session ended" (the login call). */
  login?: boolean;
}

export async function request(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    // Tells the collector this is script, not a person at a browser prompt:
    // a 401 for it needs no WWW-Authenticate (which would pop up the
    // browser's own password dialog).
    'X-Requested-With': 'XMLHttpRequest',
    ...opts.headers,
  };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method: opts.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, path, '');
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    if (res.status === 401 && !opts.login && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, path, text);
  }
  return res;
}

export async function getJson<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(path, opts);
  return (await res.json()) as T;
}

export async function postJson<T = unknown>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
  const res = await request(path, { ...opts, method: 'POST', body });
  return (await res.json()) as T;
}

/** POST a command; the answer is text (or JSON text). */
export async function postCmd(path: string, body: unknown, opts: RequestOptions = {}): Promise<string> {
  const res = await request(path, { ...opts, method: 'POST', body });
  return res.text();
}

/**
 * Reads a streamed one-object-per-line answer (`.itjson`), calling `onBatch`
 * with the objects of each network chunk as they arrive, so the first rows
 * show while the rest is still on its way.
 */
export async function streamLines(
  path: string,
  body: unknown,
  onBatch: (objs: unknown[]) => void,
  signal?: AbortSignal,
): Promise<number> {
  const res = await request(path, { method: 'POST', body, signal });
  if (!res.body) {
    const objs = (await res.text()).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    onBatch(objs);
    return objs.length;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    const cut = rest.lastIndexOf('\n');
    if (cut < 0) continue;
    const lines = rest.slice(0, cut).split('\n');
    rest = rest.slice(cut + 1);
    const objs: unknown[] = [];
    for (const l of lines) if (l.length > 1) objs.push(JSON.parse(l));
    n += objs.length;
    if (objs.length) onBatch(objs);
  }
  rest += decoder.decode();
  if (rest.trim()) {
    onBatch([JSON.parse(rest)]);
    n++;
  }
  return n;
}

/** True when the error says the route does not exist (yet) on this collector. */
export function isMissingRoute(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const body = e.body.trim();
    return body ? `${statusText(e.status)} (${e.status}): ${body.slice(0, 300)}` : `${statusText(e.status)} (${e.status})`;
  }
  return String((e as Error)?.message ?? e);
}

/** Path segment escaping for keys, MACs and UUIDs in URLs. */
export const seg = encodeURIComponent;
