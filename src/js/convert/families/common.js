// Helpers the converter's family modules share: config.json numbers, and one name table per family from which
// both directions are derived (HF → vitrine canonical for conversion, canonical → HF for error messages).
import { VitrineError } from '../../errors.js';

// ImageNet statistics, which several processors and family defaults use.
export const IMAGENET_MEAN = [0.485, 0.456, 0.406], IMAGENET_STD = [0.229, 0.224, 0.225];

// Checkpoint parts ViT-like HF models carry that vitrine does not use: the pooler (Linear+tanh on CLS) and the
// masked-image-modelling token.
export const HF_UNUSED = [/^pooler\./, /^embeddings\.mask_token$/];

export const convertError = (msg) => new VitrineError('E_CONVERT', msg);

export function num(config, key, fallback, { int = true, min = 0 } = {}) {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min) {
    throw convertError(`config.json: "${key}" must be ${int ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(config[key])}`);
  }
  return v;
}

/**
 * A family's names, written once. `top` and `layer` are lists of [canonical, hf, ...aliases]: a canonical name
 * ending in '.' is a module (its .weight/.bias follow on both sides), anything else one tensor. `hf` may be
 * { fused: [q, k, v] }: three HF modules stacked into one canonical tensor (part 0, 1, 2). Layer names are
 * `<layerPrefix><l>.<hf>` ↔ `layers.<l>.<canonical>`. The first HF name is the one error messages show.
 */
export function nameTable({ top, layer, layerPrefix = 'encoder.layer.' }) {
  const reverse = (list) => {
    const m = new Map();
    for (const [canon, hf, ...aliases] of list) {
      const hfs = hf.fused ? hf.fused.map((h, part) => [h, part]) : [hf, ...aliases].map((h) => [h, undefined]);
      for (const [h, part] of hfs) {
        if (canon.endsWith('.')) for (const s of ['weight', 'bias']) m.set(`${h}.${s}`, { target: canon + s, part });
        else m.set(h, { target: canon, part });
      }
    }
    return m;
  };
  const forward = (list, name) => {
    for (const [canon, hf] of list) {
      const hit = canon.endsWith('.') ? name.startsWith(canon) && /^(weight|bias)$/.test(name.slice(canon.length)) : name === canon;
      if (!hit) continue;
      const suffix = canon.endsWith('.') ? '.' + name.slice(canon.length) : '';
      return hf.fused ? hf.fused.map((h) => h + suffix) : hf + suffix;
    }
    return undefined;
  };
  const topRev = reverse(top), layerRev = reverse(layer);
  const layerRe = new RegExp(`^${layerPrefix.replace(/\./g, '\\.')}(\\d+)\\.(.+)$`);
  return {
    /** HF name (model prefix removed) → { target, part? } or undefined. */
    toCanonical(hfName) {
      const m = layerRe.exec(hfName);
      if (m) {
        const hit = layerRev.get(m[2]);
        return hit && { target: `layers.${Number(m[1])}.${hit.target}`, part: hit.part };
      }
      return topRev.get(hfName);
    },
    /** canonical → the HF name (without the model prefix), or for a fused tensor the list of its parts. */
    toHf(name) {
      const m = /^layers\.(\d+)\.(.+)$/.exec(name);
      if (!m) return forward(top, name);
      const hf = forward(layer, m[2]);
      const at = (h) => `${layerPrefix}${m[1]}.${h}`;
      return hf === undefined ? undefined : Array.isArray(hf) ? hf.map(at) : at(hf);
    },
  };
}
