// Pages other than the device list load on first visit.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let cached: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => cached);
    const [err, setErr] = useState('');
    useEffect(() => {
      if (C) return;
      pending ??= load().then((c) => (cached = c));
      pending.then(
        (c) => setC(() => c),
        (e) => {
          pending = null;
          setErr(String(e));
        },
      );
    }, []);
    if (err) return <p class="error" role="alert">This page could not load: {err}</p>;
    return C ? <C {...props} /> : <p aria-live="polite" class="muted">Loading…</p>;
  };
}
