// `vitrine inspect`: what a converted model is, from its manifest alone (no WebAssembly needed).
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { VitrineError } from './errors.js';

export function readManifest(dirOrFile) {
  let p = dirOrFile;
  if (!fs.existsSync(p)) throw new VitrineError('E_MANIFEST', `${p}: no such model folder or manifest`);
  if (fs.statSync(p).isDirectory()) p = path.join(p, 'manifest.json');
  let text;
  try { text = fs.readFileSync(p, 'utf8'); } catch (e) { throw new VitrineError('E_MANIFEST', `${p}: cannot read (${e.code ?? e.message})`); }
  try { return { manifest: JSON.parse(text), path: p }; } catch (e) { throw new VitrineError('E_MANIFEST', `${p}: not valid JSON (${e.message})`); }
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

/** Facts about a model: what `inspect --json` prints. Checks that the chunk files exist and have the listed size. */
export function describe(dirOrFile, { verify = false } = {}) {
  const { manifest: m, path: p } = readManifest(dirOrFile);
  const a = m.architecture ?? {};
  const params = (m.tensors ?? []).reduce((s, t) => s + t.shape.reduce((x, y) => x * y, 1), 0);
  const dir = path.dirname(p);
  const problems = [];
  for (const [i, c] of (m.chunks ?? []).entries()) {
    const f = path.join(dir, c.file);
    if (!fs.existsSync(f)) problems.push(`chunk ${i} (${c.file}) is missing`);
    else if (fs.statSync(f).size !== c.size) problems.push(`chunk ${i} (${c.file}) is ${fs.statSync(f).size} bytes, manifest says ${c.size}`);
    else if (verify && createHash('sha256').update(fs.readFileSync(f)).digest('hex') !== c.sha256) {
      problems.push(`chunk ${i} (${c.file}): SHA-256 mismatch (file is corrupt or was tampered with)`);
    }
  }
  return {
    name: m.name, format: m.format, version: m.version, family: a.family,
    hiddenSize: a.hidden_size, numLayers: a.num_hidden_layers, numHeads: a.num_attention_heads,
    intermediateSize: a.intermediate_size, patchSize: a.patch_size, imageSize: a.image_size,
    numRegisterTokens: a.num_register_tokens, swiglu: a.use_swiglu_ffn, classifier: a.classifier,
    head: a.head, numLabels: a.num_labels, labels: m.labels, params, preprocess: m.preprocess,
    chunkSize: m.chunk_size, chunks: (m.chunks ?? []).length, streamSize: m.stream_size,
    totalBytes: (m.chunks ?? []).reduce((s, c) => s + c.size, 0), tensors: (m.tensors ?? []).length,
    metadata: m.metadata, problems,
  };
}

export function formatDescription(d) {
  const pp = d.preprocess ?? {};
  const size = pp.size ? (pp.size.shortest_edge ? `shortest edge ${pp.size.shortest_edge}` : `${pp.size.height}×${pp.size.width}`) : '?';
  const resample = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'][pp.resample] ?? pp.resample;
  const lines = [
    `${d.name}  (vitrine format v${d.version})`,
    `  family        ${d.family}${d.swiglu ? ' (SwiGLU)' : ''}${d.numRegisterTokens ? `, ${d.numRegisterTokens} register tokens` : ''}`,
    `  size          D=${d.hiddenSize} layers=${d.numLayers} heads=${d.numHeads} mlp=${d.intermediateSize} patch=${d.patchSize} image=${d.imageSize}`,
    `  parameters    ${d.params.toLocaleString('en-US')} (${d.tensors} tensors)`,
    `  classifier    ${d.classifier}${d.head ? ` (${d.head.pooling} → ${d.head.layers.map((l) => (l.type === 'linear' ? `${l.in}→${l.out}` : l.type)).join(' ')}, ${d.head.output})` : ''}, ${d.numLabels} labels` +
      (d.labels?.length ? `: ${d.labels.slice(0, 5).join(', ')}${d.labels.length > 5 ? ', …' : ''}` : ''),
    `  preprocess    ${pp.processor ?? '?'}: resize ${pp.do_resize ? `${size} ${resample}` : 'no'}` +
      `${pp.do_center_crop ? `, crop ${pp.crop_size.height}×${pp.crop_size.width}` : ''}` +
      `${pp.do_normalize ? `, mean [${pp.image_mean.map((x) => +x.toFixed(4))}] std [${pp.image_std.map((x) => +x.toFixed(4))}]` : ''}`,
    `  stream        ${d.streamSize} bytes (${mib(d.streamSize)}) in ${d.chunks} chunks of ${mib(d.chunkSize)}`,
    `  total bytes   ${d.totalBytes}`,
  ];
  const md = d.metadata ?? {};
  if (md.source) lines.push(`  source        ${md.source.format} ${md.source.files?.join(', ') ?? ''} (${md.source.architectures?.join(', ') || md.source.model_type})`);
  if (md.converter) lines.push(`  converter     ${md.converter}`);
  if (md.dropped?.length) lines.push(`  dropped       ${md.dropped.join(', ')}`);
  for (const n of md.notes ?? []) lines.push(`  note          ${n}`);
  for (const [k, v] of Object.entries(md)) {
    if (['source', 'converter', 'dropped', 'notes', 'preprocess_source'].includes(k)) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    lines.push(`  ${k.padEnd(13)} ${text.length > 160 ? `${text.slice(0, 157)}… (--json for all)` : text}`);
  }
  for (const p of d.problems) lines.push(`  PROBLEM       ${p}`);
  return lines.join('\n');
}
