// Build of the collector's web UI. `npm run build` writes static files to
// dist/: index.html (no inline script or style) and hashed assets, which the
// collector serves at / under a strict Content-Security-Policy.
//
// `npm run dev` serves the sources with a proxy to a running collector
// (HOPWIRE_COLLECTOR_URL, default http://127.0.0.1:2501), so the session
// cookie is same-origin as it is when the collector serves the UI itself.
import { defineConfig } from 'vite';

const collector = process.env.HOPWIRE_COLLECTOR_URL || 'http://127.0.0.1:2501';

// What the collector sends with the UI (the C++ side sets the same header).
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'";

// Every API path prefix the UI uses; anything else is a UI file.
const apiPrefixes = [
  '/session', '/auth', '/devices', '/datasource', '/system', '/pcap', '/phy',
  '/alerts', '/eventbus', '/admin', '/messagebus', '/gps', '/logging', '/metrics',
];
const proxy = Object.fromEntries(
  apiPrefixes.map((p) => [p, { target: collector, ws: p === '/eventbus', changeOrigin: false }]),
);

export default defineConfig({
  // Relative asset URLs: the UI also works under a reverse-proxy prefix
  // (--uri-prefix /hopwire serves it at /hopwire/).
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none' },
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No data: URLs for fonts or images: every asset is a file of its own.
    assetsInlineLimit: 0,
    // The polyfill would be an inline script; every browser the UI supports
    // has modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 200,
  },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': CSP } },
});
