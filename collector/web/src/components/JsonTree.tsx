// Every field of a JSON answer as nested, collapsible lists. Children are
// rendered only when opened, so a device with 1 000 peers costs nothing
// until someone looks.
import { useState } from 'preact/hooks';

function Leaf({ v }: { v: unknown }) {
  if (v === null) return <span class="j-null">null</span>;
  if (typeof v === 'string') return <span class="j-str">"{v}"</span>;
  if (typeof v === 'number') return <span class="j-num">{String(v)}</span>;
  if (typeof v === 'boolean') return <span class="j-bool">{String(v)}</span>;
  return <span>{String(v)}</span>;
}

function Node({ name, v, open: initial }: { name: string; v: unknown; open?: boolean }) {
  const [open, setOpen] = useState(!!initial);
  if (v === null || typeof v !== 'object') {
    return (
      <li>
        <span class="j-key">{name}</span>: <Leaf v={v} />
      </li>
    );
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as Record<string, unknown>);
  const summary = Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`;
  if (entries.length === 0) {
    return (
      <li>
        <span class="j-key">{name}</span>: <span class="muted">{Array.isArray(v) ? '[]' : '{}'}</span>
      </li>
    );
  }
  return (
    <li>
      <button type="button" class="j-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span aria-hidden="true">{open ? '▾' : '▸'}</span> <span class="j-key">{name}</span>{' '}
        <span class="muted">{summary}</span>
      </button>
      {open ? (
        <ul class="j-list">
          {entries.map(([k, x]) => (
            <Node name={k} v={x} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function JsonTree({ value, label }: { value: unknown; label: string }) {
  return (
    <ul class="j-list j-root" aria-label={label}>
      <Node name={label} v={value} open />
    </ul>
  );
}
