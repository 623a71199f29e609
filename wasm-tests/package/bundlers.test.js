// The packed package in a browser app, with no vitrine-specific configuration: a Vite 6 app built and served
// (mt with COOP/COEP, st without), the same app on Vite's dev server (pre-bundled dependency), a plain
// <script type="module"> from a static folder; a webpack 5 build with no configuration file at all (webpack-cli's
// defaults: src/index.js → dist/main.js); and esbuild and Parcel 2 builds with the one documented option, wasmBaseUrl
// (esbuild does not follow new URL(…, import.meta.url); Parcel bundles the Emscripten glue it names into a script
// without the module's default export).
// Each classifies a photo in headless Chromium and must give the predictions of Node's API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, PHOTOS, tmpDir, requireBuild } from '../helpers/env.js';
import { CHROMIUM, loadPlaywright } from '../browser/harness.js';
import { load } from '../../src/js/index.js';

const PHOTO = path.join(PHOTOS, 'dog_beagle.jpg');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
// The app: start the engine with vitrine/preload, then classify /photo.jpg with the model served at /cifar10-vit/,
// mt when the page is cross-origin isolated; it reports how often a .wasm was fetched (once: load() used the module
// preload() started, which a bundle holding two copies of the runtime would not).
const appJs = (spec, extra = '') => `import { load } from '${spec}';
import { preload } from '${spec === 'vitrine' ? 'vitrine/preload' : spec.replace(/index\.js$/, 'preload.js')}';
const out = document.getElementById('out');
(async () => {
  try {
    const options = { build: self.crossOriginIsolated ? 'mt' : 'st'${extra} };
    const started = preload(options);
    const m = await load('/cifar10-vit/manifest.json', options);
    const bytes = new Uint8Array(await (await fetch('/photo.jpg')).arrayBuffer());
    const wasmFetches = performance.getEntriesByType('resource').filter((r) => new URL(r.name).pathname.endsWith('.wasm')).length;
    out.textContent = JSON.stringify({ build: m.info.build, started: (await started).build, wasmFetches, top: await m.classify(bytes, { topK: 3 }) });
  } catch (e) { out.textContent = 'ERROR ' + e.code + ' ' + e.message; }
})();
`;
const html = (src) => `<!doctype html><meta charset="utf-8"><pre id="out">wait</pre><script type="module" src="${src}"></script>\n`;

let app, browser, expected;
before(async () => {
  requireBuild('mt');
  requireBuild('st');
  const chromium = await loadPlaywright();
  assert.ok(chromium, 'playwright-core is not installed (npm ci)');
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
  const dest = tmpDir('pack-web');
  const out = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const [{ filename }] = JSON.parse(out.stdout);
  app = tmpDir('web-app');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const inst = spawnSync('npm', ['install', path.join(dest, filename), '--offline', '--no-audit', '--no-fund', '--registry', 'http://127.0.0.1:9/',
    '--cache', path.join(tmpDir('npm-cache'), 'c')], { cwd: app, encoding: 'utf8' });
  assert.equal(inst.status, 0, inst.stderr);
  fs.mkdirSync(path.join(app, 'public'));
  fs.cpSync(path.join(app, 'node_modules/vitrine/weights/cifar10-vit'), path.join(app, 'public/cifar10-vit'), { recursive: true });
  fs.copyFileSync(PHOTO, path.join(app, 'public/photo.jpg'));
  fs.writeFileSync(path.join(app, 'index.html'), html('/main.js'));
  fs.writeFileSync(path.join(app, 'main.js'), appJs('vitrine'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const m = await load(undefined, { build: 'st' });
  expected = await m.classify(PHOTO, { topK: 3 });
  await m.dispose();
});
after(async () => { await browser?.close(); });

/** Serve folders (first match wins) with or without the cross-origin isolation headers. */
async function serve(dirs, isolated) {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/\/$/, '/index.html');
    const file = dirs.map((d) => path.join(d, rel)).find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!file) { res.writeHead(404); return res.end(); }
    const headers = { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' };
    if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

async function classifyIn(url, build) {
  const page = await browser.newPage();
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) failed.push(`${r.status()} ${r.url()}`); });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('out').textContent !== 'wait', null, { timeout: 180_000 });
    const text = await page.textContent('#out');
    assert.ok(!text.startsWith('ERROR'), `${text}\n${failed.join('\n')}`);
    const got = JSON.parse(text);
    assert.equal(got.build, build);
    assert.equal(got.started, build);
    assert.equal(got.wasmFetches, 1, 'load() used the module preload() started');
    assert.deepEqual(got.top.map((p) => p.label), expected.map((p) => p.label));
    got.top.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i].score) < 1e-5));
    assert.deepEqual(failed, [], 'every request succeeded');
  } finally {
    await page.close();
  }
}

test('Vite 6 build: the .wasm, .worker.js and glue are emitted and found (mt isolated, st not), no node: warning', async () => {
  const { build } = await import('vite');
  const warnings = [];
  await build({ root: app, configFile: false, build: { outDir: 'dist' },
    customLogger: { info() {}, warn: (m) => warnings.push(m), warnOnce: (m) => warnings.push(m), error: (m) => warnings.push(m), clearScreen() {}, hasWarned: false, hasErrorLogged: () => false } });
  const assets = fs.readdirSync(path.join(app, 'dist/assets'));
  for (const re of [/^vitrine-mt-.*\.wasm$/, /^vitrine-st-.*\.wasm$/, /^vitrine-mt\.worker-.*\.js$/, /^vitrine-mt-.*\.mjs$/, /^vitrine-st-.*\.mjs$/]) {
    assert.ok(assets.some((a) => re.test(a)), `${re} not emitted: ${assets}`);
  }
  assert.deepEqual(warnings.filter((w) => /node:|externalized/.test(w)), []);
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    const s = await serve([path.join(app, 'dist')], isolated);
    try { await classifyIn(s.url, b); } finally { await s.close(); }
  }
});

test('Vite 6 dev server (vitrine pre-bundled into .vite/deps): mt with COOP/COEP, st without', async () => {
  const { createServer } = await import('vite');
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    fs.rmSync(path.join(app, 'node_modules/.vite'), { recursive: true, force: true });
    const server = await createServer({ root: app, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1',
      headers: isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {} } });
    await server.listen();
    try { await classifyIn(server.resolvedUrls.local[0], b); } finally { await server.close(); }
  }
});

test('plain <script type="module"> from a static folder (no bundler): mt and st', async () => {
  fs.writeFileSync(path.join(app, 'plain.html'), html('/plain.js'));
  fs.writeFileSync(path.join(app, 'plain.js'), appJs('/node_modules/vitrine/src/js/index.js'));
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    const s = await serve([app, path.join(app, 'public')], isolated);
    try { await classifyIn(`${s.url}plain.html`, b); } finally { await s.close(); }
  }
});

test('esbuild bundle with the files copied beside it and wasmBaseUrl: mt and st', async () => {
  const esbuild = await import('esbuild');
  const out = path.join(app, 'esb');
  fs.writeFileSync(path.join(app, 'esb-main.js'), appJs('vitrine', ", wasmBaseUrl: '/wasm/'"));
  const r = await esbuild.build({ entryPoints: [path.join(app, 'esb-main.js')], bundle: true, format: 'esm', platform: 'browser',
    outfile: path.join(out, 'main.js'), absWorkingDir: app, logLevel: 'silent' });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings.map((w) => w.text), []);
  fs.cpSync(path.join(app, 'node_modules/vitrine/dist/wasm/web'), path.join(out, 'wasm'), { recursive: true });
  fs.writeFileSync(path.join(out, 'index.html'), html('/main.js'));
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    const s = await serve([out, path.join(app, 'public')], isolated);
    try { await classifyIn(s.url, b); } finally { await s.close(); }
  }
});

test('webpack 5 with no configuration (webpack-cli defaults): the files are emitted as assets and found, mt and st', async () => {
  const wp = path.join(app, 'wp');
  fs.mkdirSync(path.join(wp, 'src'), { recursive: true });
  fs.writeFileSync(path.join(wp, 'src/index.js'), appJs('vitrine'));
  // The app's own node_modules (the installed tarball), seen from its sub-folder as from a project root.
  fs.symlinkSync(path.join(app, 'node_modules'), path.join(wp, 'node_modules'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/webpack-cli/bin/cli.js'), '--mode', 'production'],
    { cwd: wp, encoding: 'utf8', timeout: 300_000 });
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const assets = fs.readdirSync(path.join(wp, 'dist'));
  for (const ext of ['.mjs', '.wasm', '.js']) assert.ok(assets.filter((a) => a.endsWith(ext)).length >= 2, `${ext} assets: ${assets}`);
  // Nothing about vitrine's files; webpack's generic size hints (the .wasm files are > 244 KiB) are not about them.
  const warnings = (r.stdout + r.stderr).split(/\n(?=WARNING)/).filter((w) => /^WARNING/m.test(w) && !/size limit|performance/i.test(w));
  assert.deepEqual(warnings, []);
  fs.writeFileSync(path.join(wp, 'dist/index.html'), '<!doctype html><meta charset="utf-8"><pre id="out">wait</pre><script src="main.js"></script>\n');
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    const s = await serve([path.join(wp, 'dist'), path.join(app, 'public')], isolated);
    try { await classifyIn(s.url, b); } finally { await s.close(); }
  }
});

test('Parcel 2 build with the files copied beside it and wasmBaseUrl: mt and st', async () => {
  const pc = path.join(app, 'pc');
  fs.mkdirSync(path.join(pc, 'src'), { recursive: true });
  fs.writeFileSync(path.join(pc, 'src/main.js'), appJs('vitrine', ", wasmBaseUrl: '/wasm/'"));
  fs.writeFileSync(path.join(pc, 'src/index.html'), html('./main.js'));
  // Parcel 2 reads package.json "exports" (here: vitrine/preload) only when the project turns it on.
  const appPkg = path.join(app, 'package.json');
  fs.writeFileSync(appPkg, JSON.stringify({ ...JSON.parse(fs.readFileSync(appPkg, 'utf8')), '@parcel/resolver-default': { packageExports: true } }));
  fs.symlinkSync(path.join(app, 'node_modules'), path.join(pc, 'node_modules'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/parcel/lib/bin.js'), 'build', 'src/index.html', '--no-cache', '--dist-dir', 'dist'],
    { cwd: pc, encoding: 'utf8', timeout: 300_000 });
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  fs.cpSync(path.join(app, 'node_modules/vitrine/dist/wasm/web'), path.join(pc, 'dist/wasm'), { recursive: true });
  for (const [isolated, b] of [[true, 'mt'], [false, 'st']]) {
    const s = await serve([path.join(pc, 'dist'), path.join(app, 'public')], isolated);
    try { await classifyIn(s.url, b); } finally { await s.close(); }
  }
});
