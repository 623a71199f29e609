// Node: model folders on disk. Node-only modules are imported on first use, so this file is browser-safe.
import { VitrineError } from '../errors.js';
import { nodeModule } from '../runtime.js';

let mods = null;
export async function nodeModules() {
  if (!mods) {
    const [fs, fsp, path, url] = await Promise.all(['fs', 'fs/promises', 'path', 'url'].map(nodeModule));
    mods = { fs, fsp, path, url };
  }
  return mods;
}

/** A folder or a manifest path → { path, dir } of manifest.json. */
export async function locateManifest(p) {
  const { fs, path } = await nodeModules();
  p = path.resolve(p);
  let st;
  try { st = fs.statSync(p); } catch { throw new VitrineError('E_MANIFEST', `${p}: no such model folder or manifest`); }
  if (st.isDirectory()) p = path.join(p, 'manifest.json');
  return { path: p, dir: path.dirname(p) };
}

export async function readManifestFile(p) {
  const { fsp } = await nodeModules();
  try { return await fsp.readFile(p, 'utf8'); } catch (e) {
    throw new VitrineError('E_MANIFEST', `${p}: cannot read manifest (${e.code ?? e.message})`, { cause: e });
  }
}

/** A folder path (or file: URL) as an absolute path. */
export async function toPath(p) {
  const { path, url } = await nodeModules();
  return path.resolve(p instanceof URL || String(p).startsWith('file:') ? url.fileURLToPath(p) : p);
}

/**
 * The chunk source of a folder: readInto(c, heap) reads chunk c straight into the engine's memory at c.target
 * (no intermediate copy of the model); heap() is the current view of that memory. → the file's size (when it
 * is larger than c.size only c.size bytes were read, and the engine reports the size mismatch).
 */
export async function folderSource(dir) {
  const { fsp, path } = await nodeModules();
  return {
    async readInto(c, heap) {
      let fh;
      try { fh = await fsp.open(path.join(dir, c.file), 'r'); } catch (e) {
        throw new VitrineError('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}): cannot read (${e.code ?? e.message})`, { cause: e });
      }
      try {
        const actual = (await fh.stat()).size;
        const want = Math.min(actual, c.size);
        const read = async (view) => {
          let done = 0;
          while (done < want) {
            const { bytesRead } = await fh.read(view, c.target + done, want - done, done);
            if (bytesRead === 0) break;
            done += bytesRead;
          }
          return done;
        };
        const view = heap();
        let done = await read(view);
        // Memory grew while reading (another thread): read again into the current heap.
        if (heap().buffer !== view.buffer) done = await read(heap());
        return done < want ? done : actual;
      } finally { await fh.close(); }
    },
  };
}
