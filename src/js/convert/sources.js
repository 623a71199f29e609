// Readers for the converter's inputs: .safetensors (single or sharded) and .npz (zip of .npy). Node only.
// Each reader returns tensor entries { name, kind, shape, file, read(sink) } without loading any data; the
// data is read one tensor at a time (in pieces, for f32) when the converter streams it out.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { VitrineError } from '../errors.js';
import { parseNpyHeader, toFloat32 } from '../npy.js';
import { safetensorsHeaderLength, parseSafetensorsHeader } from '../safetensors.js';

const convertError = (msg) => new VitrineError('E_CONVERT', msg);
const PIECE = 4 << 20;


function readAt(fd, length, position) {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw convertError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return buf;
}

// One scratch buffer for f32 pieces: sinks consume a piece synchronously, so it can be reused (no garbage).
let scratch = null;
function readPiece(fd, length, position) {
  if (!scratch) scratch = Buffer.allocUnsafe(PIECE);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, scratch, done, length - done, position + done);
    if (n === 0) throw convertError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return scratch.subarray(0, length);
}

// A reader that streams `nbytes` raw bytes of kind `kind` at `position` of an open file into sink(Uint8Array),
// which must consume each piece before returning.
function fileTensorReader(fd, position, nbytes, kind) {
  return (sink) => {
    if (kind === 'f32') {
      for (let done = 0; done < nbytes; done += PIECE) sink(readPiece(fd, Math.min(PIECE, nbytes - done), position + done));
    } else {
      const f = toFloat32(readAt(fd, nbytes, position), kind);
      sink(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    }
  };
}

const product = (shape) => shape.reduce((a, b) => a * b, 1);

/** Parse and fully validate one .safetensors file. */
export function openSafetensors(file) {
  const base = path.basename(file);
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const bad = (msg) => { fs.closeSync(fd); return convertError(`${base}: ${msg}`); };
  const headerLen = safetensorsHeaderLength(size >= 8 ? readAt(fd, 8, 0) : null, size, bad);
  const dataStart = 8 + headerLen, dataSize = size - dataStart;
  const { tensors, metadata } = parseSafetensorsHeader(readAt(fd, headerLen, 8), dataSize, bad);
  for (const t of tensors) {
    const { kind, dtype, name } = t;
    t.file = base;
    if (!kind) t.error = `${base}: tensor "${name}" has dtype ${dtype}; vitrine needs floating point weights (F32, F16, BF16 or F64)`;
    t.read = kind ? fileTensorReader(fd, dataStart + t.begin, t.end - t.begin, kind) : () => { throw convertError(t.error); };
  }
  return { file: base, tensors, metadata, close: () => fs.closeSync(fd) };
}

/** model.safetensors or the shards listed by model.safetensors.index.json. */
export function openSafetensorsFolder(dir) {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) {
    let idx;
    try { idx = JSON.parse(fs.readFileSync(index, 'utf8')); } catch (e) { throw convertError(`model.safetensors.index.json: not valid JSON (${e.message})`); }
    if (!idx || typeof idx.weight_map !== 'object') throw convertError('model.safetensors.index.json: no "weight_map" object');
    const shardNames = [...new Set(Object.values(idx.weight_map))];
    const files = [], tensors = [];
    const seen = new Map();
    for (const s of shardNames) {
      if (typeof s !== 'string' || s.includes('/') || s.includes('\\') || s.includes('..')) throw convertError(`model.safetensors.index.json: bad shard name ${JSON.stringify(s)}`);
      if (!fs.existsSync(path.join(dir, s))) throw convertError(`model.safetensors.index.json lists shard "${s}" but the file is missing`);
      const f = openSafetensors(path.join(dir, s));
      files.push(f);
      for (const t of f.tensors) {
        if (seen.has(t.name)) throw convertError(`tensor "${t.name}" is in both ${seen.get(t.name)} and ${s}`);
        if (idx.weight_map[t.name] !== s) throw convertError(`tensor "${t.name}" is in ${s} but model.safetensors.index.json says ${JSON.stringify(idx.weight_map[t.name])}`);
        seen.set(t.name, s);
        tensors.push(t);
      }
    }
    for (const [name, s] of Object.entries(idx.weight_map)) {
      if (!seen.has(name)) throw convertError(`model.safetensors.index.json maps tensor "${name}" to ${s}, but ${s} does not contain it`);
    }
    return { format: 'safetensors (sharded)', files: shardNames, tensors, close: () => files.forEach((f) => f.close()) };
  }
  if (fs.existsSync(single)) {
    const f = openSafetensors(single);
    return { format: 'safetensors', files: [f.file], tensors: f.tensors, close: f.close };
  }
  return null;
}

// ---- .npz ----

function findEocd(fd, size) {
  const tail = Math.min(size, 65557);
  const buf = readAt(fd, tail, size - tail);
  for (let i = tail - 22; i >= 0; i--) if (buf.readUInt32LE(i) === 0x06054b50) return { buf, at: i, pos: size - tail + i };
  return null;
}

/** Open an .npz (stored or deflated members, zip64 aware). Entries are "<name>.npy" members. */
export function openNpz(file) {
  const base = path.basename(file);
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const bad = (msg) => { fs.closeSync(fd); return convertError(`${base}: ${msg}`); };
  const eocd = findEocd(fd, size);
  if (!eocd) throw bad('not a zip/npz file (no end-of-central-directory record)');
  let count = eocd.buf.readUInt16LE(eocd.at + 10);
  let cdSize = eocd.buf.readUInt32LE(eocd.at + 12);
  let cdOffset = eocd.buf.readUInt32LE(eocd.at + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = readAt(fd, 20, eocd.pos - 20);
    if (loc.readUInt32LE(0) !== 0x07064b50) throw bad('zip64 locator missing');
    const z = readAt(fd, 56, Number(loc.readBigUInt64LE(8)));
    if (z.readUInt32LE(0) !== 0x06064b50) throw bad('zip64 end record missing');
    count = Number(z.readBigUInt64LE(32)); cdSize = Number(z.readBigUInt64LE(40)); cdOffset = Number(z.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw bad('central directory runs past the end of the file');
  const cd = readAt(fd, cdSize, cdOffset);
  const tensors = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw bad('corrupt central directory');
    const method = cd.readUInt16LE(p + 10);
    let compSize = cd.readUInt32LE(p + 20), uncompSize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const memberName = cd.toString('utf8', p + 46, p + 46 + nameLen);
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e), len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompSize === 0xffffffff) { uncompSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (compSize === 0xffffffff) { compSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(cd.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    p = eEnd + commentLen;
    if (!memberName.endsWith('.npy')) throw bad(`member "${memberName}" is not an .npy array`);
    if (method !== 0 && method !== 8) throw bad(`member "${memberName}": compression method ${method} is not supported (stored or deflate only)`);
    const lh = readAt(fd, 30, localOffset);
    if (lh.readUInt32LE(0) !== 0x04034b50) throw bad(`member "${memberName}": bad local header`);
    const dataPos = localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    if (dataPos + compSize > size) throw bad(`member "${memberName}" runs past the end of the file`);
    const name = memberName.slice(0, -4);
    const what = `${base}: array "${name}"`;
    // Header: stored → read it in place; deflated → inflate a prefix.
    let head;
    if (method === 0) head = readAt(fd, Math.min(compSize, 65536), dataPos);
    else head = zlib.inflateRawSync(readAt(fd, Math.min(compSize, 65536), dataPos), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    let h;
    try { h = parseNpyHeader(head, what); } catch (err) { fs.closeSync(fd); throw convertError(err.message); }
    const kinds = { '<f4': ['f32', 4], '<f8': ['f64', 8], '<f2': ['f16', 2] };
    const k = kinds[h.descr];
    const nbytes = product(h.shape) * (k ? k[1] : 0);
    const entry = { name, dtype: h.descr, kind: k ? k[0] : null, shape: h.shape, file: base };
    if (!k) entry.error = `${what}: dtype '${h.descr}' is not supported (need '<f4'; '<f8' and '<f2' are converted)`;
    else if (h.fortranOrder) entry.error = `${what}: fortran_order=True is not supported (save with np.ascontiguousarray)`;
    if (entry.error) entry.read = () => { throw convertError(entry.error); };
    else if (h.dataOffset + nbytes !== uncompSize) {
      throw bad(`array "${name}": shape [${h.shape}] × ${h.descr} needs ${nbytes} bytes but the member holds ${uncompSize - h.dataOffset}`);
    } else if (method === 0) entry.read = fileTensorReader(fd, dataPos + h.dataOffset, nbytes, k[0]);
    else {
      entry.read = (sink) => {
        const all = zlib.inflateRawSync(readAt(fd, compSize, dataPos));
        const f = toFloat32(all.subarray(h.dataOffset, h.dataOffset + nbytes), k[0]);
        sink(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
      };
    }
    tensors.push(entry);
  }
  return { format: 'npz', files: [base], tensors, close: () => fs.closeSync(fd) };
}
