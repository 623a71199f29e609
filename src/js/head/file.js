// Head files (docs/FORMAT.md "Head files"): a trained classification head on its own, to attach to a loaded model
// (model.setHead, load(…, { head })). A safetensors file: the head's linear layers as F32 tensors
// head.<k>.weight [out, in] and head.<k>.bias [out], and string metadata saying what the head is (pooling,
// layers, output), its labels, the backbone it was trained on and how it was trained. Pure: runs in browsers,
// workers and Node.
import { VitrineError } from '../errors.js';
import { safetensorsHeaderLength, parseSafetensorsHeader } from '../safetensors.js';

export const HEAD_FORMAT = 'vitrine-head';
export const HEAD_VERSION = '1';
const POOLINGS = ['cls', 'mean', 'cls+mean', 'projection', 'pooler'];

const headError = (msg) => new VitrineError('E_HEAD', `head file: ${msg}`);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const posInt = (v) => Number.isInteger(v) && v >= 1 && v <= 1 << 20;

/**
 * Check the parts every head has; returns the linear layers [{ k, in, out }] in order. Widths: the first
 * layer reads backbone.input_dim, each layer reads what the previous gives, the last gives one output per label
 * (a one-output sigmoid head has two labels: negative, positive).
 */
function checkHead({ pooling, layers, output, labels, backbone }) {
  if (!POOLINGS.includes(pooling)) throw headError(`head.pooling must be one of ${POOLINGS.join(', ')}, got ${JSON.stringify(pooling)}`);
  if (output !== 'softmax' && output !== 'sigmoid') throw headError(`head.output must be "softmax" or "sigmoid", got ${JSON.stringify(output)}`);
  if (!Array.isArray(layers) || !layers.length) throw headError('head.layers must be a non-empty array');
  if (!isObject(backbone)) throw headError('backbone must be an object { name, family, hidden_size, input_dim, fingerprint }');
  if (typeof backbone.name !== 'string' || typeof backbone.family !== 'string') throw headError('backbone.name and backbone.family must be strings');
  if (!posInt(backbone.hidden_size)) throw headError(`backbone.hidden_size must be a positive integer, got ${JSON.stringify(backbone.hidden_size)}`);
  if (!posInt(backbone.input_dim)) throw headError(`backbone.input_dim must be a positive integer, got ${JSON.stringify(backbone.input_dim)}`);
  if (typeof backbone.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(backbone.fingerprint)) {
    throw headError(`backbone.fingerprint must be 64 lowercase hex digits, got ${JSON.stringify(backbone.fingerprint)}`);
  }
  let width = backbone.input_dim;
  const linears = [];
  layers.forEach((L, k) => {
    if (!isObject(L)) throw headError(`head.layers[${k}] must be an object`);
    if (L.type === 'linear') {
      if (!posInt(L.in) || !posInt(L.out)) throw headError(`head.layers[${k}]: "in" and "out" must be positive integers`);
      if (L.in !== width) throw headError(`head.layers[${k}].in = ${L.in} but ${k ? 'the previous layer gives' : 'backbone.input_dim is'} ${width}`);
      width = L.out;
      linears.push({ k, in: L.in, out: L.out });
    } else if (L.type !== 'relu' && L.type !== 'gelu') {
      throw headError(`head.layers[${k}].type must be "linear", "relu" or "gelu", got ${JSON.stringify(L.type)}`);
    }
  });
  if (layers.at(-1).type !== 'linear') throw headError('head.layers: the last layer must be "linear"');
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw headError('labels must be an array of strings');
  const want = output === 'sigmoid' && width === 1 ? 2 : width;
  if (labels.length !== want) {
    throw headError(`${labels.length} labels for a head with ${width} output${width > 1 ? 's' : ''} (${want} needed${want !== width ? ': negative, positive' : ''})`);
  }
  return linears;
}

/** The head's tensor names and shapes in file order: per linear layer, weight then bias. */
const tensorList = (linears) => linears.flatMap(({ k, in: i, out }) => [
  { name: `head.${k}.weight`, shape: [out, i] }, { name: `head.${k}.bias`, shape: [out] },
]);

/**
 * head: { pooling, layers, output, labels, tensors: Map name → Float32Array, backbone: { name, family,
 * hidden_size, input_dim, fingerprint }, training } → the bytes of a .head.safetensors file.
 */
export function encodeHead(head) {
  if (!isObject(head)) throw headError('encodeHead needs a head object');
  const linears = checkHead(head);
  if (!(head.tensors instanceof Map)) throw headError('head.tensors must be a Map of name → Float32Array');
  const list = tensorList(linears);
  const header = {
    __metadata__: {
      format: HEAD_FORMAT, version: HEAD_VERSION,
      head: JSON.stringify({ pooling: head.pooling, layers: head.layers, output: head.output }),
      labels: JSON.stringify(head.labels),
      backbone: JSON.stringify(head.backbone),
      training: JSON.stringify(head.training ?? {}),
    },
  };
  let offset = 0;
  const datas = list.map(({ name, shape }) => {
    const data = head.tensors.get(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== n) throw headError(`tensor "${name}" must be a Float32Array of ${n} values [${shape}]`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
    return data;
  });
  for (const name of head.tensors.keys()) if (!list.some((t) => t.name === name)) throw headError(`tensor "${name}" is not one of the head's layers`);
  // The header is padded with spaces to a multiple of 8 bytes, as the safetensors writer does, so the tensors
  // start aligned.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.fill(0x20, 8, 8 + padded);
  bytes.set(json, 8);
  let at = 8 + padded;
  for (const data of datas) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return bytes;
}

function metadataJson(metadata, key, check, what) {
  if (typeof metadata[key] !== 'string') throw headError(`metadata "${key}" is missing (it must be a JSON string)`);
  let v;
  try { v = JSON.parse(metadata[key]); } catch (e) { throw headError(`metadata "${key}" is not valid JSON (${e.message})`); }
  if (!check(v)) throw headError(`metadata "${key}" must be ${what}`);
  return v;
}

/** The bytes of a head file (Uint8Array | ArrayBuffer) → the head object encodeHead takes. Errors: E_HEAD. */
export function decodeHead(bytes) {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw headError('decodeHead needs a Uint8Array or ArrayBuffer');
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, headError);
  const dataStart = 8 + headerLen;
  const { tensors, metadata } = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, headError);
  if (!isObject(metadata)) throw headError('no "__metadata__": not a vitrine head file');
  if (metadata.format !== HEAD_FORMAT) throw headError(`metadata "format" is ${JSON.stringify(metadata.format)}, expected "${HEAD_FORMAT}"`);
  if (metadata.version !== HEAD_VERSION) throw headError(`metadata "version" is ${JSON.stringify(metadata.version)}; this reader knows "${HEAD_VERSION}"`);
  const spec = metadataJson(metadata, 'head', isObject, 'an object { pooling, layers, output }');
  const labels = metadataJson(metadata, 'labels', Array.isArray, 'an array of label strings');
  const backbone = metadataJson(metadata, 'backbone', isObject, 'an object { name, family, hidden_size, input_dim, fingerprint }');
  const training = metadata.training === undefined ? {} : metadataJson(metadata, 'training', isObject, 'an object');
  const head = { pooling: spec.pooling, layers: spec.layers, output: spec.output, labels, backbone, training };
  const list = tensorList(checkHead(head));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  head.tensors = new Map();
  for (const { name, shape } of list) {
    const t = byName.get(name);
    if (!t) throw headError(`tensor "${name}" is missing`);
    if (t.dtype !== 'F32') throw headError(`tensor "${name}" is ${t.dtype}, expected F32`);
    if (t.shape.join() !== shape.join()) throw headError(`tensor "${name}" has shape [${t.shape}], the head's layers need [${shape}]`);
    // A copy: the data may not be 4-byte aligned in `bytes`, and the head must not alias the caller's buffer.
    // (Not bytes.slice: on a Node Buffer that is a view into a shared pool.)
    const copy = new Uint8Array(t.end - t.begin);
    copy.set(bytes.subarray(dataStart + t.begin, dataStart + t.end));
    head.tensors.set(name, new Float32Array(copy.buffer));
    byName.delete(name);
  }
  if (byName.size) throw headError(`tensor "${[...byName.keys()][0]}" is not one of the head's layers`);
  return head;
}

/** The layers' weights in the order the engine reads them (attachHead): per linear layer, weight then bias. */
export function headWeights(head) {
  const list = tensorList(checkHead(head));
  const out = new Float32Array(list.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0));
  let at = 0;
  for (const { name, shape } of list) {
    const data = head.tensors.get(name);
    if (!(data instanceof Float32Array) || data.length !== shape.reduce((a, b) => a * b, 1)) throw headError(`tensor "${name}" must be a Float32Array [${shape}]`);
    out.set(data, at);
    at += data.length;
  }
  return out;
}
