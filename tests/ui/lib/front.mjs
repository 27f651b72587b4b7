// A stand-in for the collector's own UI serving, until the collector serves
// collector/web/dist itself: one origin that answers the UI's files from
// dist/ with the headers the collector will send (the strict CSP, cache
// headers) and passes every other request, WebSocket upgrades included, to
// the collector unchanged (so the KISMET cookie is same-origin, as it will be).
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * Starts the front on 127.0.0.1:port (0 = any). Returns {url, close}.
 * collector: "http://127.0.0.1:PORT".
 */
export function startFront({ dist, collector, port = 0 }) {
  const target = new URL(collector);
  const fileFor = (pathname) => {
    if (pathname === '/' || pathname === '/index.html') return join(dist, 'index.html');
    const p = normalize(join(dist, decodeURIComponent(pathname)));
    if (!p.startsWith(dist + '/')) return null;
    return existsSync(p) && statSync(p).isFile() ? p : null;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = (req.method === 'GET' || req.method === 'HEAD') && fileFor(url.pathname);
    if (file) {
      const immutable = /\/assets\/[^/]+-[A-Za-z0-9_-]{8}\.(js|css)$/.test(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
      return;
    }
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        const headers = { ...ures.headers };
        // What the UI needs from the collector (see docs/ui.md): a 401 to a
        // script's request (X-Requested-With: XMLHttpRequest) carries no
        // WWW-Authenticate, else the browser opens its own password dialog
        // (and a headless one waits for ever).
        if (ures.statusCode === 401 && req.headers['x-requested-with'] === 'XMLHttpRequest') delete headers['www-authenticate'];
        res.writeHead(ures.statusCode ?? 502, headers);
        ures.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end('front: collector unreachable: ' + e.message);
    });
    req.pipe(up);
    res.on('close', () => up.destroy());
  });

  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(target.port), target.hostname, () => {
      let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(h + '\r\n');
      if (head && head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });

  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({
        url: `http://127.0.0.1:${p}/`,
        close: () => new Promise((r) => {
          server.closeAllConnections?.();
          server.close(() => r());
        }),
      });
    });
  });
}
