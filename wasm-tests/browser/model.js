// Model folders for the browser tests: the bundled default (weights/cifar10-vit) when it exists, else the
// ViT fixture converted on the fly; and a re-chunked copy with small chunks for the download-fault tests.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { ROOT } from './harness.js';

export const DEFAULT_MODEL_DIR = path.join(ROOT, 'weights/cifar10-vit');

/** → { dir, isDefault } : the model the page tests run on. */
export function testModel(tmp) {
  if (fs.existsSync(path.join(DEFAULT_MODEL_DIR, 'manifest.json'))) return { dir: DEFAULT_MODEL_DIR, isDefault: true };
  const dir = path.join(tmp, 'vit-fixture');
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'src/js/cli.js'), 'convert',
      path.join(ROOT, 'wasm-tests/fixtures/models/vit/hf'), '-o', dir, '--name', 'ViT test fixture', '-q'], { stdio: 'pipe' });
  }
  return { dir, isDefault: false };
}

/**
 * Copy a model with its tensor stream cut into about `count` chunks (FORMAT.md §1: any multiple of 64 is a
 * valid chunk_size), so tests can damage or cut one chunk in the middle of a load.
 */
export function rechunk(srcDir, outDir, count = 6) {
  const m = JSON.parse(fs.readFileSync(path.join(srcDir, 'manifest.json'), 'utf8'));
  const stream = Buffer.concat(m.chunks.map((c) => fs.readFileSync(path.join(srcDir, c.file))));
  if (stream.length !== m.stream_size) throw new Error(`${srcDir}: chunks hold ${stream.length} bytes, manifest says ${m.stream_size}`);
  const size = Math.max(64, Math.ceil(stream.length / count / 64) * 64);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const chunks = [];
  for (let off = 0, i = 0; off < stream.length; off += size, i++) {
    const bytes = stream.subarray(off, Math.min(off + size, stream.length));
    const file = `chunk-${String(i).padStart(5, '0')}.bin`;
    fs.writeFileSync(path.join(outDir, file), bytes);
    chunks.push({ file, size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
  }
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify({ ...m, name: `${m.name} (small chunks)`, chunk_size: size, chunks }, null, 1));
  return { dir: outDir, chunks };
}
