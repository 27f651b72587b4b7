// A windowed ARIA grid: only the rows in view (plus a few) are in the DOM,
// so 100 000 rows scroll like 50. Rows have one fixed height, which makes the
// window a matter of arithmetic (no measuring). The header is sticky inside
// the same scroll container, so it follows horizontal scrolling.
//
// Keyboard: the grid is one tab stop; Up/Down/PageUp/PageDown/Home/End move
// the active row (announced through aria-activedescendant), Enter opens it.
// Column headers are buttons that sort (aria-sort says how).
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  id: string;
  label: string;
  width: number;
  align?: 'right';
  sortable?: boolean;
  cell: (row: T) => ComponentChildren;
  /** Text for the cell's title (tooltip) when it may be cut off. */
  title?: (row: T) => string;
}

interface Props<T> {
  id: string;
  label: string;
  rows: T[];
  columns: Column<T>[];
  rowHeight?: number;
  sortCol?: string;
  sortDesc?: boolean;
  onSort?: (col: string) => void;
  onOpen?: (row: T) => void;
  /** Called with true while the user scrolls, false once it stops. */
  onScrolling?: (scrolling: boolean) => void;
  rowClass?: (row: T) => string;
  /** Changes whenever row contents change (re-renders visible rows). */
  version?: number;
  empty?: ComponentChildren;
}

const OVERSCAN = 8;

export function VirtualTable<T>(p: Props<T>) {
  const h = p.rowHeight ?? 28;
  const ref = useRef<HTMLDivElement>(null);
  const headRef = useRef<HTMLDivElement>(null);
  const [start, setStart] = useState(0);
  const [viewRows, setViewRows] = useState(40);
  const [active, setActiveState] = useState(-1);
  // Keys can come faster than renders: handlers read the latest value here.
  const activeRef = useRef(-1);
  const setActive = (i: number) => {
    activeRef.current = i;
    setActiveState(i);
  };
  const frame = useRef(0);
  const scrollIdle = useRef(0);
  const scrolling = useRef(false);
  const n = p.rows.length;

  const measure = () => {
    const el = ref.current;
    if (!el) return;
    const head = headRef.current?.offsetHeight ?? 0;
    const first = Math.max(0, Math.floor(Math.max(0, el.scrollTop) / h) - OVERSCAN);
    const count = Math.ceil(Math.max(0, el.clientHeight - head) / h) + OVERSCAN * 2;
    setStart((s) => (s === first ? s : first));
    setViewRows((c) => (c === count ? c : count));
  };

  useLayoutEffect(() => {
    measure();
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => measure());
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A shorter list may leave the window past its end.
  useEffect(() => {
    if (active >= n) setActive(n - 1);
    measure();
  }, [n]);

  const onScroll = () => {
    if (!frame.current) {
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        measure();
      });
    }
    if (!scrolling.current) {
      scrolling.current = true;
      p.onScrolling?.(true);
    }
    clearTimeout(scrollIdle.current);
    scrollIdle.current = window.setTimeout(() => {
      scrolling.current = false;
      p.onScrolling?.(false);
    }, 250);
  };

  const reveal = (i: number) => {
    const el = ref.current;
    if (!el) return;
    const head = headRef.current?.offsetHeight ?? 0;
    const top = i * h;
    const visible = el.clientHeight - head;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + h > el.scrollTop + visible) el.scrollTop = top + h - visible;
  };

  const move = (i: number) => {
    if (n === 0) return;
    const j = Math.max(0, Math.min(n - 1, i));
    setActive(j);
    reveal(j);
  };

  const onKey = (e: JSX.TargetedKeyboardEvent<HTMLDivElement>) => {
    if (e.target !== ref.current) return; // keys in header buttons are theirs
    const page = Math.max(1, viewRows - OVERSCAN * 2 - 1);
    const cur = activeRef.current;
    switch (e.key) {
      case 'ArrowDown': move(cur + 1); break;
      case 'ArrowUp': move(cur < 0 ? 0 : cur - 1); break;
      case 'PageDown': move(cur + page); break;
      case 'PageUp': move(cur - page); break;
      case 'Home': move(0); break;
      case 'End': move(n - 1); break;
      case 'Enter':
        if (cur >= 0 && cur < n) p.onOpen?.(p.rows[cur]);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const cols = p.columns.map((c) => `${c.width}px`).join(' ');
  const width = p.columns.reduce((a, c) => a + c.width, 0);
  const end = Math.min(n, start + viewRows);
  const visible: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    const row = p.rows[i];
    const cls = 'vt-row' + (i === active ? ' vt-active' : '') + (i % 2 ? ' vt-odd' : '') + (p.rowClass ? ' ' + p.rowClass(row) : '');
    visible.push(
      <div
        key={i}
        role="row"
        id={`${p.id}-r${i}`}
        style={{ top: `${i * h}px` }}
        aria-rowindex={i + 2}
        aria-selected={i === active}
        class={cls}
        onClick={() => setActive(i)}
        onDblClick={() => p.onOpen?.(row)}
      >
        {p.columns.map((c) => (
          <div role="gridcell" class={c.align === 'right' ? 'vt-cell vt-num' : 'vt-cell'} title={c.title?.(row)}>
            {c.cell(row)}
          </div>
        ))}
      </div>,
    );
  }

  const grid = (
    <div
      ref={ref}
      id={p.id}
      class="vt"
      role="grid"
      aria-label={p.label}
      aria-rowcount={n + 1}
      aria-colcount={p.columns.length}
      aria-activedescendant={active >= 0 && active >= start && active < end ? `${p.id}-r${active}` : undefined}
      tabIndex={0}
      onScroll={onScroll}
      onKeyDown={onKey}
      onFocus={() => {
        if (activeRef.current < 0 && n > 0) setActive(Math.min(n - 1, start > 0 ? start + OVERSCAN : 0));
      }}
      style={{ '--vt-cols': cols, '--vt-width': `${width}px`, '--vt-h': `${h}px` }}
    >
      <div role="rowgroup" class="vt-head" ref={headRef}>
        <div role="row" aria-rowindex={1} class="vt-row vt-headrow">
          {p.columns.map((c) => {
            const sorted = p.sortCol === c.id;
            const sort = sorted ? (p.sortDesc ? 'descending' : 'ascending') : 'none';
            return (
              <div role="columnheader" aria-sort={c.sortable !== false && p.onSort ? sort : undefined} class="vt-cell">
                {c.sortable !== false && p.onSort ? (
                  <button type="button" class="vt-sort" onClick={() => p.onSort?.(c.id)}>
                    {c.label}
                    <span aria-hidden="true" class="vt-arrow">{sorted ? (p.sortDesc ? '▼' : '▲') : ''}</span>
                  </button>
                ) : (
                  c.label
                )}
              </div>
            );
          })}
        </div>
      </div>
      <div role="rowgroup" class="vt-body" style={{ height: `${n * h}px` }}>
        {visible}
      </div>
    </div>
  );
  return (
    <div class="vt-wrap">
      {grid}
      {n === 0 && p.empty ? <div class="vt-empty">{p.empty}</div> : null}
    </div>
  );
}
