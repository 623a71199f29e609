// What embeddings alone are good for: which photos look alike. Cosine similarity of the model's embeddings
// (its first pooling, as `model.embed` gives it); pure functions, no DOM.

// Near-duplicates: cosine ≥ NEAR_DUPLICATE. Measured on the bundled model's backbone (CLS pooling, 2026-12-03):
// one photo and its re-encodings (CMYK JPEG, EXIF-rotated pixels) score 0.9994–0.9999, while the highest of
// 499,500 pairs of distinct CIFAR-10 test photos is 0.991 (1 same-class pair of 49,500 reaches 0.99; 84 reach
// 0.98). A fixed rule of thumb, not tuned per model: other backbones may spread their embeddings differently.
export const NEAR_DUPLICATE = 0.99;

export function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * embeddings: Float32Array[] (two or more). → { nearest: [{ j, cos }] per photo, pairs: [{ i, j, cos }] most
 * similar first, groups: [[i, …]] near-duplicate groups (connected by cosine ≥ threshold), threshold }.
 */
export function similarity(embeddings, threshold = NEAR_DUPLICATE) {
  const n = embeddings.length;
  const nearest = Array.from({ length: n }, () => ({ j: -1, cos: -Infinity }));
  const pairs = [];
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i) => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const cos = cosine(embeddings[i], embeddings[j]);
      pairs.push({ i, j, cos });
      if (cos > nearest[i].cos) nearest[i] = { j, cos };
      if (cos > nearest[j].cos) nearest[j] = { j: i, cos };
      if (cos >= threshold) parent[find(i)] = find(j);
    }
  }
  pairs.sort((a, b) => b.cos - a.cos);
  const byRoot = new Map();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r).push(i);
  }
  return { nearest, pairs, groups: [...byRoot.values()].filter((g) => g.length > 1), threshold };
}
