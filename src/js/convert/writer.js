// Writes a model folder (docs/FORMAT.md): the tensor stream into fixed-size chunk files, hashing each as it goes
// (never more than one piece of one tensor in memory), then the manifest. Used by `vitrine convert` and
// `vitrine train-head`.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

export const chunkFileName = (i) => `chunk-${String(i).padStart(5, '0')}.bin`;

export class ChunkWriter {
  constructor(dir, chunkSize) {
    this.dir = dir;
    this.chunkSize = chunkSize;
    this.position = 0;        // bytes of stream written so far
    this.chunks = [];
    this.fd = null;
    this.hash = null;
    this.inChunk = 0;
  }

  #open() {
    const file = chunkFileName(this.chunks.length);
    this.fd = fs.openSync(path.join(this.dir, file), 'w');
    this.hash = createHash('sha256');
    this.inChunk = 0;
    this.file = file;
  }

  #close() {
    fs.closeSync(this.fd);
    this.chunks.push({ file: this.file, size: this.inChunk, sha256: this.hash.digest('hex') });
    this.fd = null;
  }

  write(bytes) {
    let off = 0;
    while (off < bytes.length) {
      if (this.fd === null) this.#open();
      const n = Math.min(bytes.length - off, this.chunkSize - this.inChunk);
      const piece = bytes.subarray(off, off + n);
      let done = 0;
      while (done < n) done += fs.writeSync(this.fd, piece, done, n - done);
      this.hash.update(piece);
      this.inChunk += n; this.position += n; off += n;
      if (this.inChunk === this.chunkSize) this.#close();
    }
  }

  padTo(position) {
    if (position < this.position) throw new Error(`internal: pad to ${position} behind ${this.position}`);
    if (position > this.position) this.write(new Uint8Array(position - this.position));
  }

  finish() {
    if (this.fd !== null) this.#close();
    return this.chunks;
  }
}

/**
 * Write `manifest` (chunk_size and stream_size set; chunks filled in here) and its tensors into outDir.
 * items, in stream order: { name, offset, bytes, write(sink) }, where write() passes the tensor's bytes to
 * sink(Uint8Array) in order. Options: onProgress({ written, total }). Returns the manifest.
 *
 * Nothing is half-written: the chunks go to a hidden folder inside outDir first. Only when every chunk is
 * written are they renamed into place (same file system: each rename is atomic), with the old manifest removed
 * first and the new one written (to a temporary name, then renamed) last, so the folder never pairs a manifest
 * with chunks it does not describe. A failure before that leaves outDir as it was (a folder the call created is
 * removed again); chunk files of an earlier, larger model in the same folder are removed.
 */
export async function writeModelFolder(outDir, manifest, items, { onProgress } = {}) {
  const existed = fs.existsSync(outDir);
  fs.mkdirSync(outDir, { recursive: true });
  const partial = fs.mkdtempSync(path.join(outDir, '.vitrine-partial-'));
  const writer = new ChunkWriter(partial, manifest.chunk_size);
  try {
    const total = manifest.stream_size;
    let lastReport = 0;
    for (const [i, t] of items.entries()) {
      writer.padTo(t.offset);
      t.write((bytes) => writer.write(bytes));
      if (writer.position !== t.offset + t.bytes) throw new Error(`internal: tensor "${t.name}" wrote ${writer.position - t.offset} bytes, expected ${t.bytes}`);
      if (onProgress && (writer.position - lastReport > (8 << 20) || writer.position === total)) {
        lastReport = writer.position;
        onProgress({ written: writer.position, total });
      }
      if (i % 16 === 0) await null; // give the event loop a turn now and then (progress bars, signals)
    }
    writer.padTo(total);
    manifest.chunks = writer.finish();
  } catch (e) {
    if (writer.fd !== null) fs.closeSync(writer.fd);
    fs.rmSync(partial, { recursive: true, force: true });
    if (!existed) fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(path.join(outDir, 'manifest.json'), { force: true });
  for (const c of manifest.chunks) fs.renameSync(path.join(partial, c.file), path.join(outDir, c.file));
  fs.rmSync(partial, { recursive: true, force: true });
  for (const f of fs.readdirSync(outDir)) {
    const m = /^chunk-(\d{5,})\.bin$/.exec(f);
    if (m && Number(m[1]) >= manifest.chunks.length) fs.rmSync(path.join(outDir, f));
  }
  const tmp = path.join(outDir, `.manifest.json.${process.pid}.tmp`);
  fs.writeFileSync(tmp, formatManifest(manifest));
  fs.renameSync(tmp, path.join(outDir, 'manifest.json'));
  return manifest;
}

/** JSON with one tensor / chunk per line: readable and diffable, not 10 lines per tensor. */
export function formatManifest(m) {
  const lines = ['{'];
  const keys = Object.keys(m);
  keys.forEach((k, i) => {
    const comma = i < keys.length - 1 ? ',' : '';
    if (Array.isArray(m[k]) && (k === 'tensors' || k === 'chunks')) {
      lines.push(`  ${JSON.stringify(k)}: [`);
      m[k].forEach((e, j) => lines.push(`    ${JSON.stringify(e)}${j < m[k].length - 1 ? ',' : ''}`));
      lines.push(`  ]${comma}`);
    } else {
      lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(m[k], null, 2).replace(/\n/g, '\n  ')}${comma}`);
    }
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}
