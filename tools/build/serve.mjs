#!/usr/bin/env node
// Static server for the vitrine page: `npm start` (build if needed, then serve the project root) and
// `npm run serve -- --root dist/web` (serve the built static site). Binds 127.0.0.1 only.
//
//   node tools/build/serve.mjs [--root DIR] [--port N] [--no-isolation] [--build]
//
// By default every response carries COOP/COEP (cross-origin isolation), so the page can use
// SharedArrayBuffer and the multi-threaded WASM build. --no-isolation leaves them out, as a plain static
// host would (the page then falls back to single-threaded, or coi-serviceworker steps in).
//
// Tests import startServer() and may pass `faults` (fault injection) and read `requests` (a log of every
// request: method, path, headers, body bytes). Faults are options of this function only: nothing in the
// environment or on the command line turns them on in normal use.
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WORKER_BUNDLE, bundleWorker } from './build-web.mjs';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COI_SW = path.join(PROJECT_ROOT, 'node_modules/coi-serviceworker/coi-serviceworker.min.js');

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Start the server.
 * @param {object} [options]
 * @param {string} [options.root]        folder to serve (default: the project root)
 * @param {number} [options.port]        0 (default) = a free port
 * @param {boolean} [options.isolation]  send COOP/COEP (default true)
 * @param {object} [options.faults]      fault injection (tests only):
 *   drop:    [{ match, afterBytes = half, times = 1 }]  send `afterBytes` of the body, then cut the connection
 *   tamper:  [{ match, times = Infinity }]              flip one byte in the middle of the body
 *   status:  [{ match, code = 500, times = 1 }]         answer with an error status
 *   throttle:[{ match, bytesPerSecond }]               send the body slowly (for "loading" screenshots)
 *   `match` is a substring of the URL path or a RegExp. `times` counts down per matching request.
 * @param {boolean} [options.quiet]
 * @returns {Promise<{ url: string, port: number, requests: object[], faults: object, close(): Promise<void> }>}
 */
export async function startServer(options = {}) {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const isolation = options.isolation !== false;
  const faults = normaliseFaults(options.faults);
  const requests = [];

  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (d) => { bodyBytes += d.length; });
    req.on('end', () => {
      const entry = { method: req.method, url: req.url, headers: req.headers, bodyBytes, status: 0, sentBytes: 0 };
      requests.push(entry);
      handle(req, res, entry).catch((err) => {
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', String(err?.stack ?? err));
        else res.destroy();
      });
    });
  });

  function commonHeaders() {
    const h = {
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      // Revalidate on every load (ETag below makes that a cheap 304); the page caches model chunks itself.
      'Cache-Control': 'no-cache',
    };
    if (isolation) {
      h['Cross-Origin-Opener-Policy'] = 'same-origin';
      h['Cross-Origin-Embedder-Policy'] = 'require-corp';
      h['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    return h;
  }

  function send(res, status, type, body, extra = {}) {
    res.writeHead(status, { ...commonHeaders(), 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }

  async function handle(req, res, entry) {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      entry.status = 405;
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    let pathname;
    try { pathname = decodeURIComponent(url.pathname); } catch { entry.status = 400; return send(res, 400, 'text/plain; charset=utf-8', 'bad path\n'); }
    if (pathname.includes('\0')) { entry.status = 400; return send(res, 400, 'text/plain; charset=utf-8', 'bad path\n'); }

    // The page lives in web/; the site root sends you there (dist/web has its own index.html doing the same).
    if (pathname === '/' && !fs.existsSync(path.join(root, 'index.html'))) {
      entry.status = 302;
      res.writeHead(302, { ...commonHeaders(), Location: '/web/' + url.search, 'Content-Length': 0 });
      return res.end();
    }
    let file = path.join(root, pathname);
    const rel = path.relative(root, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      entry.status = 403;
      return send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
    }
    // coi-serviceworker sits at the site root so its scope covers the engine's own workers (dist/wasm/web/);
    // in the source tree it comes from node_modules (build-web copies it into dist/web/).
    if (pathname === '/coi-serviceworker.js' && !fs.existsSync(file)) file = COI_SW;
    // The page's bundled worker, in the source tree: made from the current sources (build-web writes it to a file).
    if (pathname === `/${WORKER_BUNDLE}` && !fs.existsSync(file) && fs.existsSync(path.join(root, 'web/worker.js'))) {
      return sendBody(req, res, entry, pathname, await currentBundle(root), 'text/javascript; charset=utf-8');
    }
    let st;
    try { st = await fsp.stat(file); } catch { st = null; }
    if (st?.isDirectory()) {
      if (!pathname.endsWith('/')) {
        entry.status = 301;
        res.writeHead(301, { ...commonHeaders(), Location: pathname + '/' + url.search, 'Content-Length': 0 });
        return res.end();
      }
      file = path.join(file, 'index.html');
      try { st = await fsp.stat(file); } catch { st = null; }
    }
    // Nothing hidden (.git/, .ci/, .env …): any path segment starting with a dot is not served.
    if (!st || !st.isFile() || pathname.split('/').some((seg) => seg.startsWith('.'))) {
      entry.status = 404;
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }

    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return sendBody(req, res, entry, pathname, { etag, read: () => fsp.readFile(file) }, type);
  }

  // One file's answer: 304, 200, 206 or an injected fault. `what`: { etag, read() → Buffer }.
  async function sendBody(req, res, entry, pathname, what, type) {
    const fault = pickFault(faults, pathname);
    if (fault?.kind === 'status') {
      entry.status = fault.code;
      entry.fault = 'status';
      return send(res, fault.code, 'text/plain; charset=utf-8', `injected fault ${fault.code}\n`);
    }
    const { etag } = what;
    const headers = { ...commonHeaders(), 'Content-Type': type, ETag: etag };
    if (!fault && req.headers['if-none-match'] === etag) {
      entry.status = 304;
      res.writeHead(304, headers);
      return res.end();
    }
    let body = await what.read();
    if (fault?.kind === 'tamper') {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
      entry.fault = 'tamper';
    }
    headers['Accept-Ranges'] = 'bytes';
    // Single byte ranges (`bytes=a-`, `bytes=a-b`, `bytes=-n`): the page resumes a dropped chunk with them.
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    if (range && (range[1] !== '' || range[2] !== '')) {
      let start, end;
      if (range[1] === '') { start = Math.max(0, body.length - Number(range[2])); end = body.length - 1; }
      else { start = Number(range[1]); end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1); }
      if (start > end || start >= body.length) {
        entry.status = 416;
        return send(res, 416, 'text/plain; charset=utf-8', 'range not satisfiable\n', { 'Content-Range': `bytes */${body.length}` });
      }
      headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
      entry.range = [start, end];
    }
    headers['Content-Length'] = body.length;
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();

    if (fault?.kind === 'drop') {
      const n = Math.min(body.length - 1, fault.afterBytes ?? body.length >> 1);
      entry.fault = 'drop';
      entry.sentBytes = n;
      res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), 250));
      return;
    }
    if (fault?.kind === 'throttle') {
      entry.fault = 'throttle';
      const step = Math.max(1024, Math.floor(fault.bytesPerSecond / 20));
      for (let off = 0; off < body.length; off += step) {
        if (res.destroyed) return;
        res.write(body.subarray(off, off + step));
        entry.sentBytes = Math.min(body.length, off + step);
        await new Promise((r) => setTimeout(r, 50));
      }
      return res.end();
    }
    entry.sentBytes = body.length;
    res.end(body);
  }

  // A source tree's bundled worker is made before the first visit asks for it (a syntax error in the sources is
  // left to that request, which answers 500 with esbuild's message).
  if (!fs.existsSync(path.join(root, WORKER_BUNDLE)) && fs.existsSync(path.join(root, 'web/worker.js'))) {
    await currentBundle(root).catch(() => {});
  }
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(server.address().port));
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    root,
    requests,
    faults,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

// The bundled worker of a source tree, made again when one of the files it was made from changed.
const bundles = new Map();   // root → { code, etag, inputs: [[file, mtimeMs]] }
async function currentBundle(root) {
  const mtime = async (f) => { try { return (await fsp.stat(f)).mtimeMs; } catch { return -1; } };
  let b = bundles.get(root);
  if (b) {
    const now = await Promise.all(b.inputs.map(([f]) => mtime(f)));
    if (now.some((t, i) => t !== b.inputs[i][1])) b = null;
  }
  if (!b) {
    const startedAt = Date.now();
    const { code, inputs } = bundleWorker(root);
    b = { code: Buffer.from(code), etag: `"${crypto.createHash('sha256').update(code).digest('hex').slice(0, 16)}"`,
      inputs: await Promise.all(inputs.map(async (f) => [f, await mtime(f)])) };
    // A file written while esbuild read it: this bundle is served once and made again on the next request.
    if (b.inputs.every(([, t]) => t < startedAt)) bundles.set(root, b);
  }
  return { etag: b.etag, read: async () => b.code };
}

function normaliseFaults(f = {}) {
  const out = [];
  for (const kind of ['drop', 'tamper', 'status', 'throttle']) {
    for (const rule of f[kind] ?? []) {
      out.push({ kind, times: kind === 'tamper' || kind === 'throttle' ? Infinity : 1, ...rule });
    }
  }
  return out;
}

function pickFault(faults, pathname) {
  for (const f of faults) {
    if (f.times <= 0) continue;
    const hit = f.match instanceof RegExp ? f.match.test(pathname) : pathname.includes(f.match);
    if (hit) { f.times -= 1; return f; }
  }
  return null;
}

function parseArgs(argv) {
  const o = { root: PROJECT_ROOT, port: 8080, isolation: true, build: false, portGiven: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') o.root = path.resolve(argv[++i]);
    else if (a === '--port') {
      o.port = Number(argv[++i]);
      o.portGiven = true;
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) { console.error(`serve: bad --port ${argv[i]}`); process.exit(2); }
    }
    else if (a === '--no-isolation') o.isolation = false;
    else if (a === '--build') o.build = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node tools/build/serve.mjs [--root DIR] [--port N] [--no-isolation] [--build]');
      process.exit(0);
    } else { console.error(`serve: unknown option ${a}`); process.exit(2); }
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.build) {
    const need = ['dist/wasm/web/vitrine-st.mjs', 'dist/wasm/web/vitrine-mt.mjs'].filter((f) => !fs.existsSync(path.join(PROJECT_ROOT, f)));
    if (need.length) {
      console.log(`serve: ${need.join(', ')} missing; running npm run build (a few minutes the first time)…`);
      const r = spawnSync('npm', ['run', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
      if (r.status !== 0) { console.error('serve: npm run build failed'); process.exit(r.status ?? 1); }
    }
    if (!fs.existsSync(path.join(PROJECT_ROOT, 'weights/cifar10-vit/manifest.json'))) {
      console.warn('serve: weights/cifar10-vit/ is missing: the page will ask for another model (URL or folder).');
    }
  }
  let srv;
  for (let attempt = 0; ; attempt++) {
    try {
      srv = await startServer({ root: o.root, port: o.port, isolation: o.isolation });
      break;
    } catch (e) {
      if (e.code === 'EADDRINUSE' && !o.portGiven && attempt < 20) { o.port += 1; continue; }
      if (e.code === 'EADDRINUSE') { console.error(`serve: port ${o.port} is in use (try --port 0)`); process.exit(1); }
      throw e;
    }
  }
  const page = fs.existsSync(path.join(o.root, 'web/index.html')) ? `${srv.url}web/` : srv.url;
  console.log(`vitrine: serving ${path.relative(process.cwd(), o.root) || '.'} on ${page}` +
    (o.isolation ? '  (cross-origin isolated: multi-threaded)' : '  (no COOP/COEP: single-threaded until coi-serviceworker reloads the page)'));
  console.log('Press Ctrl+C to stop.');
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
