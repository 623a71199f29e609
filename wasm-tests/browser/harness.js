// Helpers for the browser tests: Debian's Chromium driven by playwright-core, the static site served by
// tools/build/serve.mjs on 127.0.0.1 (random port), and readers for what the page shows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PHOTOS = path.resolve(ROOT, '../shared/photos');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function loadPlaywright() {
  try {
    return (await import('playwright-core')).chromium;
  } catch {
    return null;
  }
}

/** Why the browser tests cannot run here, or null when they can. */
export async function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  if (!(await loadPlaywright())) return 'playwright-core is not installed (npm install)';
  for (const f of ['vitrine-st.mjs', 'vitrine-st.wasm', 'vitrine-mt.mjs', 'vitrine-mt.wasm']) {
    if (!fs.existsSync(path.join(ROOT, 'dist/wasm/web', f))) return `dist/wasm/web/${f} is missing (npm run build)`;
  }
  return null;
}

/**
 * A fresh Chromium profile (persistent context, so Cache API and service workers behave as for a person).
 * @returns {Promise<{ context, page, close(): Promise<void>, dir: string }>}
 */
export async function launch({ viewport = { width: 1200, height: 900 }, colorScheme = 'light', ...contextOptions } = {}) {
  const chromium = await loadPlaywright();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    colorScheme,
    ...contextOptions,                 // e.g. isMobile + hasTouch for a phone
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    dir,
    consoleLines,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Record every request the browser makes (page, workers, service worker) and refuse any that leaves
 * 127.0.0.1. Returns the live log.
 */
export async function recordRequests(context) {
  const log = [];
  await context.route('**/*', async (route) => {
    const r = route.request();
    const url = r.url();
    const entry = { url, method: r.method(), hasBody: r.postDataBuffer() != null, type: r.resourceType(), t: Date.now() };
    log.push(entry);
    const u = new URL(url);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '127.0.0.1') {
      entry.blocked = true;
      return route.abort('blockedbyclient');
    }
    return route.fallback();
  });
  return log;
}

/** Put files into the page's photo picker (same path as a person choosing them). */
export async function choosePhotos(page, files) {
  const inputs = files.map((f) => (typeof f === 'string'
    ? { name: path.basename(f), mimeType: mimeOf(f), buffer: fs.readFileSync(f) }
    : f));
  await page.setInputFiles('#file-input', inputs);
}

export function mimeOf(f) {
  const ext = path.extname(f).toLowerCase();
  return { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.bmp': 'image/bmp', '.gif': 'image/gif' }[ext] ?? 'application/octet-stream';
}

export async function waitForModel(page, timeout = 120_000) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.documentElement.dataset.model), null, { timeout });
  return page.evaluate(() => document.documentElement.dataset.model);
}

/** Wait until `n` tiles are done or failed. */
export async function waitForTiles(page, n, timeout = 120_000) {
  await page.waitForFunction((k) => {
    const t = [...document.querySelectorAll('#tiles > li')];
    return t.length >= k && t.every((el) => el.dataset.state === 'done' || el.dataset.state === 'error');
  }, n, { timeout });
}

/** What each tile shows: name, state, labels with scores (full precision from data-score), ms, error text. */
export async function readTiles(page) {
  return page.$$eval('#tiles > li', (els) => els.map((el) => ({
    name: el.dataset.name,
    state: el.dataset.state,
    code: el.dataset.code,
    ms: el.dataset.ms ? Number(el.dataset.ms) : null,
    error: el.querySelector('.err')?.textContent ?? null,
    labels: [...el.querySelectorAll('.labels > li')].map((li) => ({
      label: li.querySelector('.name').textContent,
      index: Number(li.dataset.index),
      score: Number(li.dataset.score),
      shown: li.querySelector('.pct').textContent,
    })),
  })));
}

export async function readStatus(page) {
  return page.evaluate(() => ({
    model: document.documentElement.dataset.model,
    mode: document.documentElement.dataset.mode,
    threads: Number(document.documentElement.dataset.threads),
    name: document.getElementById('model-name').textContent,
    status: document.getElementById('status').textContent,
    known: document.getElementById('known').textContent,
    error: document.getElementById('model-error').hidden ? null : document.getElementById('model-error-text').textContent,
    errorCode: document.getElementById('model-error').dataset.code || null,
    note: document.getElementById('note').hidden ? null : document.getElementById('note').textContent,
    isolated: window.crossOriginIsolated,
  }));
}

/** Milliseconds from navigation start to the page's performance marks. */
export async function readMarks(page) {
  return page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark')
    .filter((m) => m.name.startsWith('vitrine:')).map((m) => [m.name.slice(8), m.startTime])));
}

/** On a failure: save a screenshot, and add what the page showed and logged to the error's message. */
export async function explain(b, err, dir) {
  try {
    const shot = path.join(dir, `failure-${Date.now()}.png`);
    await b.page.screenshot({ path: shot, fullPage: true, timeout: 5000 });
    const status = await readStatus(b.page).catch((e) => `unreadable: ${e.message}`);
    const tiles = await readTiles(b.page).catch(() => []);
    err.message += `\n--- page status: ${JSON.stringify(status)}` +
      `\n--- tiles: ${JSON.stringify(tiles.map((t) => [t.name, t.state, t.error ?? t.labels.map((l) => l.label).join('/')]))}` +
      `\n--- console:\n${b.consoleLines.slice(-40).join('\n')}\n--- screenshot: ${shot}`;
  } catch { /* the page is gone: keep the original error */ }
  return err;
}

/**
 * Run `fn(server, browser)` with a fresh static server (tools/build/serve.mjs options) and a fresh Chromium; a
 * failure carries a screenshot (saved in `shots`), the page's status and its console (explain); both are
 * closed whatever happens.
 */
export async function withBrowser(serverOptions, launchOptions, shots, fn) {
  const { startServer } = await import('../../tools/build/serve.mjs');
  const srv = await startServer(serverOptions);
  const b = await launch(launchOptions);
  try {
    return await fn(srv, b);
  } catch (e) {
    throw await explain(b, e, shots);
  } finally {
    await b.close();
    await srv.close();
  }
}
