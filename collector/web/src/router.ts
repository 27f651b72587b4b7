// Hash routing (#/devices?type=...): the collector serves one index.html and
// needs no fallback route; every view is a link an operator can share.
import { signal } from '@preact/signals';

export interface Route {
  page: string;
  arg: string;
  params: URLSearchParams;
}

function parse(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const [page, ...rest] = path.split('/');
  return { page: page || 'devices', arg: rest.map(decodeURIComponent).join('/'), params };
}

export const route = signal<Route>(parse());
addEventListener('hashchange', () => {
  route.value = parse();
});

export function href(page: string, arg = '', params?: Record<string, string>): string {
  let h = '#/' + page + (arg ? '/' + encodeURIComponent(arg) : '');
  if (params) {
    const p = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ''));
    const s = p.toString();
    if (s) h += '?' + s;
  }
  return h;
}

export function navigate(page: string, arg = '', params?: Record<string, string>) {
  location.hash = href(page, arg, params);
}

/** Updates the query part without a history entry (filters as you type). */
export function replaceParams(params: Record<string, string>) {
  const r = route.value;
  const h = href(r.page, r.arg, params);
  history.replaceState(null, '', h);
  route.value = { ...r, params: new URLSearchParams(h.split('?')[1] ?? '') };
}
