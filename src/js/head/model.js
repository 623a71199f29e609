// A new model folder = a converted base model's backbone + a trained head (FORMAT §4 `classifier: "head"`).
// The backbone's tensors are copied byte for byte from the base's chunks (each chunk's size and SHA-256
// checked as it is read); the base's own classifier, if any, is left out; the head's tensors follow.
import path from 'node:path';
import { VitrineError } from '../errors.js';
import { readManifest } from '../inspect.js';
import { tensorTable } from '../convert/mapping.js';
import { writeModelFolder } from '../convert/writer.js';
import { openVitrineModel } from '../convert/vitrine-source.js';

const ALIGN = 64;
const headError = (msg) => new VitrineError('E_INPUT', msg);

/**
 * baseDir: a vitrine model folder. head: { pooling, layers (FORMAT head layers), output ('softmax' default |
 * 'sigmoid'), tensors: Map name → Float32Array, labels }. Options: name, metadata (stored as metadata.head_training), onProgress. Returns the manifest.
 */
export async function writeHeadModel(baseDir, outDir, head, { name, metadata, onProgress } = {}) {
  const { manifest: base, path: manifestPath } = readManifest(baseDir);
  const dir = path.dirname(manifestPath);
  if (path.resolve(outDir) === path.resolve(dir)) throw headError(`the output folder must not be the base model's folder (${dir})`);
  const arch = structuredClone(base.architecture);
  const numLabels = head.layers.at(-1).out;
  if (head.labels.length !== numLabels) throw headError(`${head.labels.length} labels for a head with ${numLabels} outputs`);
  arch.classifier = 'head';
  arch.num_labels = numLabels;
  arch.head = { pooling: head.pooling, layers: head.layers, output: head.output ?? 'softmax' };

  const src = openVitrineModel(baseDir);
  const baseTensors = src.tensors;
  const chunkSize = base.chunk_size;

  const items = [];
  let offset = 0;
  // The engine's table for the new architecture; it also checks the head (pooling offered, layer widths).
  for (const e of await tensorTable(arch, headError)) {
    const bytes = e.shape.reduce((a, b) => a * b, 1) * 4;
    let write;
    if (e.name.startsWith('head.')) {
      const data = head.tensors.get(e.name);
      if (!data || data.length * 4 !== bytes) throw headError(`head tensor "${e.name}": expected shape [${e.shape}]`);
      write = (sink) => sink(new Uint8Array(data.buffer, data.byteOffset, bytes));
    } else {
      const t = baseTensors.get(e.name);
      if (!t || t.dtype !== 'f32' || t.shape.join() !== e.shape.join()) throw new VitrineError('E_MANIFEST', `base model: tensor "${e.name}" [${e.shape}] f32 is missing or differs`);
      write = src.copy(t);
    }
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    items.push({ name: e.name, shape: e.shape, offset, bytes, write });
    offset += bytes;
  }

  const manifest = {
    format: 'vitrine', version: 1, name: name ?? `${base.name}-head`, architecture: arch, labels: head.labels,
    preprocess: base.preprocess,
    metadata: { head_training: metadata, base: { name: base.name, classifier: base.architecture.classifier, metadata: base.metadata } },
    alignment: ALIGN, chunk_size: chunkSize, stream_size: offset,
    tensors: items.map((t) => ({ name: t.name, dtype: 'f32', shape: t.shape, offset: t.offset })),
    chunks: [],
  };
  return writeModelFolder(outDir, manifest, items, { onProgress });
}
