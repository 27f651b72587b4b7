// Short messages at the corner of the screen, announced to screen readers.
import { signal } from '@preact/signals';

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error' | 'alert';
  href?: string;
}

export const toasts = signal<Toast[]>([]);
let next = 1;

export function toast(text: string, kind: Toast['kind'] = 'info', href?: string, ms = 6000) {
  const t: Toast = { id: next++, text, kind, href };
  toasts.value = [...toasts.value.slice(-4), t];
  window.setTimeout(() => dismiss(t.id), ms);
}

export function dismiss(id: number) {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
