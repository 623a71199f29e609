// The safetensors container (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {
// string: string } }, then the data section. One validator for the header, used for the converter's inputs
// (convert/sources.js, read from a file descriptor) and for head files (head/file.js, from bytes). Pure: no
// Node modules, so it runs in browsers and workers.

/** Element sizes in bytes of the safetensors dtypes; `kind` = vitrine's name for the floating-point ones. */
export const ST_DTYPES = {
  F32: { kind: 'f32', size: 4 }, F16: { kind: 'f16', size: 2 }, BF16: { kind: 'bf16', size: 2 }, F64: { kind: 'f64', size: 8 },
  I64: { size: 8 }, I32: { size: 4 }, I16: { size: 2 }, I8: { size: 1 }, U8: { size: 1 }, U16: { size: 2 }, U32: { size: 4 },
  U64: { size: 8 }, BOOL: { size: 1 }, F8_E4M3: { size: 1 }, F8_E5M2: { size: 1 },
};

/** Header length from the first 8 bytes, checked against the file size. bad(msg) builds the error to throw. */
export function safetensorsHeaderLength(first8, fileSize, bad) {
  if (fileSize < 8) throw bad(`file is ${fileSize} bytes, too short for a safetensors header`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen + 8 > fileSize) throw bad(`header length ${headerLen} runs past the end of the file (${fileSize} bytes)`);
  if (headerLen > 100 << 20) throw bad(`header length ${headerLen} is implausibly large`);
  return headerLen;
}

/**
 * Validate a header (its bytes) against a data section of dataSize bytes. → { tensors: [{ name, dtype, kind,
 * shape, begin, end }] (offsets into the data section), metadata: object | null }.
 */
export function parseSafetensorsHeader(headerBytes, dataSize, bad) {
  let header;
  try { header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes)); }
  catch (e) { throw bad(`header is not valid JSON (${e.message})`); }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const tensors = [];
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const where = `tensor "${name}"`;
    if (!t || typeof t !== 'object') throw bad(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: off } = t;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`${where}: bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
      throw bad(`${where}: bad data_offsets ${JSON.stringify(off)}`);
    }
    const known = Object.hasOwn(ST_DTYPES, dtype) ? ST_DTYPES[dtype] : null;
    if (!known) throw bad(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    const nbytes = shape.reduce((a, b) => a * b, 1) * known.size;
    if (off[1] - off[0] !== nbytes) {
      throw bad(`${where}: data_offsets [${off}] span ${off[1] - off[0]} bytes but shape [${shape}] × ${dtype} needs ${nbytes}`);
    }
    if (off[1] > dataSize) throw bad(`${where}: data_offsets [${off}] run past the end of the file (data section is ${dataSize} bytes)`);
    tensors.push({ name, dtype, kind: known.kind ?? null, shape, begin: off[0], end: off[1] });
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    if (b.begin < a.end) throw bad(`tensors "${a.name}" and "${b.name}" overlap (bytes [${a.begin},${a.end}) and [${b.begin},${b.end}))`);
  }
  const metadata = header.__metadata__ ?? null;
  return { tensors, metadata };
}
