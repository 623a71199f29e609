// Streams the tensor stream into fixed-size chunk files, hashing each as it goes (never more than one
// piece of one tensor in memory).
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
