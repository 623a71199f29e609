// CIFAR-10 test set through a loaded vitrine model: shared by tools/default-model/eval_default.mjs (the accuracy the README and
// the manifest state) and wasm-tests/model/default-model.test.js (which checks that the bundled model still scores it).
import fs from 'node:fs';

/** Entries of a STORED-only PKZIP (the layout /work/shared/data/cifar10/README.md describes). */
export function readZip(file) {
  const buf = fs.readFileSync(file);
  const eocd = buf.length - 22;
  if (buf.readUInt32LE(eocd) !== 0x06054b50) throw new Error(`${file}: no end-of-central-directory record in the last 22 bytes`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('latin1', p + 46, p + 46 + nameLen);
    if (method !== 0) throw new Error(`${file}: ${name} is not STORED`);
    const lNameLen = buf.readUInt16LE(local + 26), lExtraLen = buf.readUInt16LE(local + 28);
    const start = local + 30 + lNameLen + lExtraLen;
    out.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset + start, size) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/**
 * Classify test.zip entries (`<class>/NNNN.jpg`) with `model`: each entry's JPEG bytes go through
 * model.preprocess (the engine's PIL-equal decode + resize + normalise; EXIF off, as PIL's Image.open) and
 * model.forward. `picked`: entry indices (default: all). Returns logits [n × K], true and predicted classes, the
 * confusion matrix (rows true, columns predicted), per-class and top-1 accuracy in percent.
 */
export async function evaluate(model, entries, { picked = entries.map((_, i) => i), onProgress } = {}) {
  const { labels } = model.info;
  const K = labels.length, n = picked.length;
  const logits = new Float32Array(n * K);
  const truth = new Int32Array(n), pred = new Int32Array(n);
  const t0 = Date.now();
  for (const [j, idx] of picked.entries()) {
    const e = entries[idx];
    const cls = e.name.split('/')[0];
    truth[j] = labels.indexOf(cls);
    if (truth[j] < 0) throw new Error(`${e.name}: class "${cls}" is not one of the model's labels`);
    const px = await model.preprocess(e.bytes, { exif: false });
    const r = await model.forward(px.pixels, { height: px.height, width: px.width });
    logits.set(r.logits, j * K);
    pred[j] = argmax(logits, j, K);
    if (onProgress && (j + 1) % 1000 === 0) onProgress(j + 1, n, (Date.now() - t0) / 1000);
  }
  const conf = Array.from({ length: K }, () => new Array(K).fill(0));
  let correct = 0;
  for (let j = 0; j < n; j++) {
    conf[truth[j]][pred[j]]++;
    if (pred[j] === truth[j]) correct++;
  }
  const perClass = {};
  labels.forEach((l, i) => {
    const tot = conf[i].reduce((x, y) => x + y, 0);
    perClass[l] = tot ? (100 * conf[i][i]) / tot : null;
  });
  return { n, logits, truth, pred, conf, correct, top1: (100 * correct) / n, perClass, seconds: (Date.now() - t0) / 1000 };
}

export function argmax(arr, j, K) {
  let b = 0;
  for (let k = 1; k < K; k++) if (arr[j * K + k] > arr[j * K + b]) b = k;
  return b;
}
