// The embedding cache of `vitrine train-head` (docs/TRAINING.md): training again with other hyper-parameters
// re-reads the embeddings instead of running the backbone. Node only.
//
// Layout under the cache folder (default <out-dir>/embeddings-cache):
//   models/<SHA-256 of manifest.json>.json   what train-head needs of a model without loading it: its backbone
//                                             fingerprint, poolings and pooled widths (the manifest lists every
//                                             chunk's SHA-256, so its hash names the weights exactly)
//   <fingerprint>/<pooling>.<exif|noexif>/<SHA-256 of the image file>.f32
//                                             one embedding, little-endian float32
// An embedding is keyed by the image's bytes, the backbone (fingerprint: equal for f32/f16/int8 encodings, whose
// embeddings differ slightly — so the encoding is part of the key too, see below), the pooling and whether EXIF
// orientation was applied. Files are written to a temporary name and renamed, so a killed run leaves no partial
// entry.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function writeAtomic(file, bytes) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

export class EmbeddingCache {
  /** dir: the cache folder; manifestBytes: the model's manifest.json as read. */
  constructor(dir, manifestBytes) {
    this.dir = dir;
    this.modelKey = sha256(manifestBytes);
  }

  /** { fingerprint, encoding, poolings, pooledWidths } recorded for this model, or null. */
  modelFacts() {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, 'models', `${this.modelKey}.json`), 'utf8'));
    } catch {
      return null;
    }
  }

  saveModelFacts(facts) {
    writeAtomic(path.join(this.dir, 'models', `${this.modelKey}.json`), JSON.stringify(facts) + '\n');
  }

  // The fingerprint names the backbone across encodings; the encoding (the sorted stored dtypes) is added so an
  // int8 model's embeddings are not served for the f32 model.
  #folder({ fingerprint, encoding }, pooling, exif) {
    return path.join(this.dir, `${fingerprint}.${encoding}`, `${pooling}.${exif ? 'exif' : 'noexif'}`);
  }

  get(facts, pooling, exif, imageSha) {
    let bytes;
    try { bytes = fs.readFileSync(path.join(this.#folder(facts, pooling, exif), `${imageSha}.f32`)); } catch { return null; }
    const width = facts.pooledWidths[pooling];
    if (bytes.length !== width * 4) return null; // not what this model gives: recompute
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }

  put(facts, pooling, exif, imageSha, embedding) {
    writeAtomic(path.join(this.#folder(facts, pooling, exif), `${imageSha}.f32`), new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength));
  }
}
