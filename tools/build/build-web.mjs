#!/usr/bin/env node
// `npm run build:web`: write the static site to dist/web/, ready to copy to any static host.
//
//   dist/web/index.html              sends visitors to web/
//   dist/web/coi-serviceworker.js    adds COOP/COEP on hosts that cannot (scope: the whole site)
//   dist/web/web/                    the page (web/*)
//   dist/web/src/js/                 the JS API files the page imports (traced from web/*.js, nothing else)
//   dist/web/dist/wasm/web/          the browser WASM builds (mt + st)
//   dist/web/dist/page/worker.js     the page's engine worker as one file (bundleWorker below)
//   dist/web/weights/cifar10-vit/    the bundled default model (when it exists)
//   dist/web/_headers                COOP/COEP for hosts that read it (Netlify, Cloudflare Pages)
//
// The tree keeps the project's layout so every relative URL (page → worker → API → WASM → model) is the same
// as when the dev server serves the project root.
//
//   node tools/build/build-web.mjs [--out DIR] [--model DIR]...   (--model adds more model folders under weights/)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The page's engine worker as one file: web/worker.js with the API modules it imports (src/js), so starting the
// worker is one request instead of a chain of module requests, one round trip per level of imports. It is two
// folders below the site root, as src/js/*.js are, so the API's `new URL('../../dist/wasm/web/…', import.meta.url)`
// finds the engine's files from the bundle too. (The page names its model's URL; the API's bundled-model default,
// relative to src/js/load/, is not used from the bundle.)
export const WORKER_BUNDLE = 'dist/page/worker.js';

/**
 * Bundle web/worker.js and the API it imports with esbuild (a build output of src/js, not a copy to maintain).
 * → { code, inputs }: the bundle's text and the absolute paths of the files it was made from.
 */
export function bundleWorker(root = ROOT) {
  const esbuild = createRequire(import.meta.url)('esbuild');
  const r = esbuild.buildSync({
    entryPoints: [path.join(root, 'web/worker.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, metafile: true, logLevel: 'silent', absWorkingDir: root, legalComments: 'none',
    banner: { js: '// Built from web/worker.js and src/js/ by tools/build/build-web.mjs (bundleWorker); edit those files, not this one.' },
  });
  if (r.errors.length || r.warnings.length) {
    throw new Error(`bundling web/worker.js: ${[...r.errors, ...r.warnings].map((m) => m.text).join('; ')}`);
  }
  return { code: r.outputFiles[0].text, inputs: Object.keys(r.metafile.inputs).map((f) => path.resolve(root, f)) };
}

export function buildWeb({ out = path.join(ROOT, 'dist/web'), models = [], quiet = false } = {}) {
  const log = quiet ? () => {} : (...a) => console.log(...a);
  const wasmDir = path.join(ROOT, 'dist/wasm/web');
  const builds = ['vitrine-st.mjs', 'vitrine-st.wasm', 'vitrine-mt.mjs', 'vitrine-mt.wasm'];
  const missing = builds.filter((f) => !fs.existsSync(path.join(wasmDir, f)));
  if (missing.length) {
    throw new Error(`dist/wasm/web/ lacks ${missing.join(', ')}: run \`npm run build\` first`);
  }
  const coi = path.join(ROOT, 'node_modules/coi-serviceworker/coi-serviceworker.min.js');
  if (!fs.existsSync(coi)) throw new Error('node_modules/coi-serviceworker is missing: run `npm install`');

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  let files = 0, bytes = 0;
  const copy = (from, to) => {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    files++;
    bytes += fs.statSync(to).size;
  };

  // 1. The page: every file in web/ (flat folder), plus coi-serviceworker.
  const webDir = path.join(ROOT, 'web');
  for (const name of fs.readdirSync(webDir)) {
    const p = path.join(webDir, name);
    if (fs.statSync(p).isFile() && !name.startsWith('.')) copy(p, path.join(out, 'web', name));
  }
  copy(coi, path.join(out, 'coi-serviceworker.js'));   // at the root: its scope must cover dist/wasm/web/ too

  // 2. JS modules the page reaches through relative imports (web/*.js → ../src/js/...).
  const seen = new Set();
  const queue = fs.readdirSync(webDir).filter((n) => /\.m?js$/.test(n)).map((n) => path.join(webDir, n));
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue;   // bare / node: specifiers: not for browsers
      const target = path.resolve(path.dirname(file), spec);
      if (!fs.existsSync(target) || !/\.m?js$/.test(target)) continue;
      if (!target.startsWith(webDir + path.sep)) {
        const rel = path.relative(ROOT, target);
        if (rel.startsWith('..')) throw new Error(`${file} imports ${spec}, outside the project`);
        if (!fs.existsSync(path.join(out, rel))) copy(target, path.join(out, rel));
      }
      queue.push(target);
    }
  }

  // 3. The page's worker, bundled.
  const bundle = path.join(out, WORKER_BUNDLE);
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  fs.writeFileSync(bundle, bundleWorker().code);
  files++;
  bytes += fs.statSync(bundle).size;

  // 4. WASM builds for browsers (the API builds their URLs at run time, so copy the folder).
  for (const name of fs.readdirSync(wasmDir)) {
    if (/^vitrine-(mt|st)\.(mjs|wasm|worker\.js|js)$/.test(name)) copy(path.join(wasmDir, name), path.join(out, 'dist/wasm/web', name));
  }

  // 5. Models: the bundled default, plus any asked for.
  const modelDirs = [path.join(ROOT, 'weights/cifar10-vit'), ...models.map((m) => path.resolve(m))];
  let bundled = false;
  for (const dir of modelDirs) {
    const mf = path.join(dir, 'manifest.json');
    if (!fs.existsSync(mf)) {
      log(`build-web: no model in ${path.relative(ROOT, dir)} (skipped; the page will say it has no default model)`);
      continue;
    }
    const manifest = JSON.parse(fs.readFileSync(mf, 'utf8'));
    const dest = path.join(out, 'weights', path.basename(dir));
    copy(mf, path.join(dest, 'manifest.json'));
    for (const c of manifest.chunks) copy(path.join(dir, c.file), path.join(dest, c.file));
    if (dir === modelDirs[0]) bundled = true;
  }

  // 6. Entry + headers for hosts that read a _headers file.
  fs.writeFileSync(path.join(out, 'index.html'), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url=web/"><title>vitrine</title></head>
<body><p><a href="web/">Open the vitrine page</a></p></body></html>
`);
  fs.writeFileSync(path.join(out, '_headers'), `/*
  Cross-Origin-Opener-Policy: same-origin
  Cross-Origin-Embedder-Policy: require-corp
  Cross-Origin-Resource-Policy: same-origin
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
`);
  files += 2;
  log(`build-web: wrote ${files} files, ${(bytes / 1e6).toFixed(1)} MB to ${path.relative(process.cwd(), out) || '.'}` +
    (bundled ? ' (with the default model)' : ' (WITHOUT the default model: weights/cifar10-vit/ is missing)'));
  log(`build-web: modules copied: ${[...seen].map((f) => path.relative(ROOT, f)).filter((f) => !f.startsWith('web/')).join(', ')}`);
  return { out, files, bytes, bundled };
}

/** Relative module specifiers in a JS source: static imports/re-exports, import('…'), new URL('…', import.meta.url). */
export function importsOf(src) {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out = new Set();
  const patterns = [
    /\bimport\s+(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bnew\s+URL\s*\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.add(m[1]);
  return [...out];
}

function main() {
  const args = process.argv.slice(2);
  const o = { models: [] };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') o.out = path.resolve(args[++i]);
    else if (args[i] === '--model') o.models.push(args[++i]);
    else { console.error(`build-web: unknown option ${args[i]}`); process.exit(2); }
  }
  try {
    buildWeb(o);
  } catch (e) {
    console.error(`build-web: ${e.message}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
