#!/usr/bin/env node
// Prints the compressed size of what the browser loads first (the scripts
// and module preloads index.html names, and their static imports), and of
// every other asset, from dist/. Fails if the initial JavaScript is over
// the budget of 200 KB gzip (issue 16).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const BUDGET = 200 * 1024;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');

const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => (n / 1024).toFixed(1).padStart(7) + ' KB';

// Entry scripts and preloads named by index.html, then what they import
// statically (import ... from "./x.js"), transitively: the initial load.
const initial = new Set();
const queue = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\.?\/?([^"]+\.js)"/g)].map((m) => m[1]);
while (queue.length) {
  const rel = queue.shift();
  if (initial.has(rel)) continue;
  initial.add(rel);
  const code = readFileSync(join(dist, rel), 'utf8');
  for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    queue.push(join(dirname(rel), m[1]));
  }
}

if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /<style/i.test(html) || /\sstyle=/i.test(html)) {
  console.error('index.html has an inline script or style: the CSP would block it');
  process.exit(1);
}

const rows = [];
const walk = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else rows.push(p);
  }
};
walk(dist);
let initialGz = 0, initialBr = 0, initialRaw = 0, allGz = 0;
console.log('file'.padEnd(44) + '    raw'.padStart(10) + '   gzip'.padStart(10) + ' brotli'.padStart(10) + '  loaded');
for (const p of rows.sort()) {
  const rel = p.slice(dist.length + 1);
  const b = readFileSync(p);
  const g = gz(b), r = br(b);
  allGz += g;
  const first = initial.has(rel) || rel === 'index.html' || (rel.endsWith('.css') && html.includes(basename(rel)));
  if (initial.has(rel)) {
    initialGz += g;
    initialBr += r;
    initialRaw += b.length;
  }
  console.log(rel.padEnd(44) + kb(b.length).padStart(10) + kb(g).padStart(10) + kb(r).padStart(10) + (first ? '  initial' : '  on demand'));
}
console.log('');
console.log(`initial JavaScript: ${(initialRaw / 1024).toFixed(1)} KB raw, ${(initialGz / 1024).toFixed(1)} KB gzip, ${(initialBr / 1024).toFixed(1)} KB brotli (budget ${BUDGET / 1024} KB gzip)`);
console.log(`all assets: ${(allGz / 1024).toFixed(1)} KB gzip`);
if (initialGz > BUDGET) {
  console.error('over budget');
  process.exit(1);
}
