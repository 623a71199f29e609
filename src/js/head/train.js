// Training a classification head on frozen ViT embeddings: the "linear probe, or a small MLP, on the CLS token"
// recipe. Pure computation on arrays (no files, no engine), so the CLI (`vitrine train-head`) and tests share it.
//
// Recipe (fixed, deterministic for a given seed):
// - a stratified train/validation split (each class split by the same fraction);
// - features standardised with the training rows' mean and standard deviation — the optimiser then sees
//   well-conditioned inputs whatever the backbone's scale — and the standardisation is folded into the first
//   linear layer afterwards, so the exported head reads raw embeddings exactly like the engine produces them;
// - Linear (hidden = 0), or Linear → ReLU → Linear; PyTorch's default initialisation U(±1/√fan_in);
// - softmax cross-entropy over the classes, or (loss 'bce', two classes) one logit z with binary cross-entropy
//   on sigmoid(z) = P(second class); AdamW (β 0.9/0.999, decoupled weight decay on weights only), cosine learning-rate
//   decay over all steps, shuffled mini-batches. float64 arithmetic: the problem is small.
import { VitrineError } from '../errors.js';

/** Deterministic PRNG in [0, 1) (mulberry32). */
export function rng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(a, random) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Split row indices by class: round(n · valFraction) rows of each class go to validation, but a class keeps at
 * least one training row (a class with one image is train-only).
 */
export function stratifiedSplit(labels, numClasses, valFraction, random) {
  const train = [], val = [];
  for (let c = 0; c < numClasses; c++) {
    const rows = shuffle(labels.flatMap((l, i) => (l === c ? [i] : [])), random);
    const nVal = Math.min(Math.round(rows.length * valFraction), rows.length - 1);
    val.push(...rows.slice(0, Math.max(0, nVal)));
    train.push(...rows.slice(Math.max(0, nVal)));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** Linear layer parameters, PyTorch's default initialisation. */
function linear(inDim, outDim, random) {
  const bound = 1 / Math.sqrt(inDim);
  const u = () => (2 * random() - 1) * bound;
  return { in: inDim, out: outDim, w: Float64Array.from({ length: inDim * outDim }, u), b: Float64Array.from({ length: outDim }, u) };
}

// y[r, o] = Σ_i x[r, i] · w[o, i] + b[o]
function affine(x, rows, L, y) {
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < L.out; o++) {
      let s = L.b[o];
      const wo = o * L.in, xr = r * L.in;
      for (let i = 0; i < L.in; i++) s += x[xr + i] * L.w[wo + i];
      y[r * L.out + o] = s;
    }
  }
}

function softmaxRows(z, rows, cols) {
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, z[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += (z[r * cols + c] = Math.exp(z[r * cols + c] - m));
    for (let c = 0; c < cols; c++) z[r * cols + c] /= s;
  }
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/**
 * Class probabilities [rows, classes] from the last layer's outputs: softmax, or for one sigmoid output the two
 * classes' [1 − p, p].
 */
function probabilities(z, rows, outputs) {
  if (outputs > 1) {
    softmaxRows(z, rows, outputs);
    return z;
  }
  const p = new Float64Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    p[2 * r + 1] = sigmoid(z[r]);
    p[2 * r] = 1 - p[2 * r + 1];
  }
  return p;
}

/** Probabilities [rows, classes] of standardised inputs x (float64, rows × dim). */
function predict(layers, x, rows) {
  let h = x;
  for (let k = 0; k < layers.length; k++) {
    const out = new Float64Array(rows * layers[k].out);
    affine(h, rows, layers[k], out);
    if (k < layers.length - 1) for (let i = 0; i < out.length; i++) out[i] = Math.max(0, out[i]);
    h = out;
  }
  return probabilities(h, rows, layers.at(-1).out);
}

/** Mean cross-entropy of class probabilities p [rows, classes] for the rows' labels. */
function meanLoss(p, rows, labels, numClasses) {
  let s = 0;
  rows.forEach((row, r) => { s -= Math.log(Math.max(p[r * numClasses + labels[row]], 1e-300)); });
  return s / rows.length;
}

function gather(x, dim, idx) {
  const out = new Float64Array(idx.length * dim);
  idx.forEach((row, r) => { for (let d = 0; d < dim; d++) out[r * dim + d] = x[row * dim + d]; });
  return out;
}

const argmaxRow = (p, r, cols) => {
  let best = 0;
  for (let c = 1; c < cols; c++) if (p[r * cols + c] > p[r * cols + best]) best = c;
  return best;
};

/**
 * Train a head. features: Float32Array/Float64Array [n · dim] (raw embeddings); labels: int array [n] in
 * [0, numClasses). Options: hidden (0 = linear), epochs, lr, weightDecay, batch, valFraction, seed, loss
 * ('softmax' | 'bce'), onEpoch(record) after every epoch with record = { epoch, trainLoss, trainAcc, valLoss,
 * valAcc } (the val fields undefined without a validation split; trainLoss/trainAcc are the epoch's mini-batch
 * means, before each step's update).
 * Returns { layers: [{type, in, out}|{type:'relu'}] (the FORMAT's head layers), output: 'softmax' | 'sigmoid',
 * tensors: Map name → Float32Array (folded: they take raw embeddings), split, history (the records),
 * trainAccuracy, valAccuracy, confusion (validation, [true][predicted]), valProbabilities: Float64Array
 * [val.length · numClasses], valPredictions: [{ row, label, predicted, probability }] (row into `features`,
 * probability of the predicted class) }.
 * Errors (VitrineError E_INPUT): fewer than two classes, a class without rows, bce with other than two classes.
 */
export function trainHead(features, labels, { dim, numClasses, hidden = 0, epochs = 100, lr = 1e-3, weightDecay = 1e-4,
  batch = 64, valFraction = 0.2, seed = 0, loss = 'softmax', onEpoch } = {}) {
  const n = labels.length;
  const inputError = (msg) => new VitrineError('E_INPUT', `trainHead: ${msg}`);
  if (!(numClasses >= 2)) throw inputError(`need at least two classes, got ${numClasses}`);
  if (loss !== 'softmax' && loss !== 'bce') throw inputError(`loss must be "softmax" or "bce", got ${JSON.stringify(loss)}`);
  if (loss === 'bce' && numClasses !== 2) throw inputError(`bce needs exactly two classes, got ${numClasses}`);
  if (features.length !== n * dim) throw inputError(`features hold ${features.length} values, expected ${n} × ${dim}`);
  const counts = new Array(numClasses).fill(0);
  for (const l of labels) {
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) throw inputError(`label ${l} is not in [0, ${numClasses})`);
    counts[l]++;
  }
  const empty = counts.indexOf(0);
  if (empty >= 0) throw inputError(`class ${empty} has no photos`);
  const outputs = loss === 'bce' ? 1 : numClasses;
  const random = rng(seed);
  const split = stratifiedSplit(Array.from(labels), numClasses, valFraction, random);

  // Standardisation from the training rows (variance floor: a constant feature must not blow up when folded).
  const mean = new Float64Array(dim), std = new Float64Array(dim);
  for (const r of split.train) for (let d = 0; d < dim; d++) mean[d] += features[r * dim + d] / split.train.length;
  for (const r of split.train) for (let d = 0; d < dim; d++) std[d] += (features[r * dim + d] - mean[d]) ** 2 / split.train.length;
  for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d] + 1e-6);
  const z = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) for (let d = 0; d < dim; d++) z[r * dim + d] = (features[r * dim + d] - mean[d]) / std[d];

  const layers = hidden > 0 ? [linear(dim, hidden, random), linear(hidden, outputs, random)] : [linear(dim, outputs, random)];
  const adam = layers.map((L) => ({ mw: new Float64Array(L.w.length), vw: new Float64Array(L.w.length), mb: new Float64Array(L.b.length), vb: new Float64Array(L.b.length) }));
  const stepsPerEpoch = Math.ceil(split.train.length / batch);
  const totalSteps = epochs * stepsPerEpoch;
  let step = 0;
  const history = [];
  const zVal = gather(z, dim, split.val);
  const order = split.train.slice();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, random);
    let lossSum = 0, correct = 0;
    for (let s = 0; s < order.length; s += batch) {
      const idx = order.slice(s, s + batch), B = idx.length;
      // Forward, keeping each layer's input and pre-activation.
      const inputs = [gather(z, dim, idx)], pre = [];
      for (let k = 0; k < layers.length; k++) {
        const out = new Float64Array(B * layers[k].out);
        affine(inputs[k], B, layers[k], out);
        pre.push(out);
        if (k < layers.length - 1) inputs.push(out.map((v) => Math.max(0, v)));
      }
      const p = probabilities(pre.at(-1).slice(), B, outputs);
      idx.forEach((row, r) => {
        lossSum -= Math.log(Math.max(p[r * numClasses + labels[row]], 1e-300));
        if (argmaxRow(p, r, numClasses) === labels[row]) correct++;
      });
      // d(mean cross-entropy)/d(logits) = (p − onehot) / B; for bce, d/dz = (sigmoid(z) − y) / B.
      let grad;
      if (outputs > 1) {
        grad = p;
        idx.forEach((row, r) => { grad[r * numClasses + labels[row]] -= 1; });
      } else {
        grad = new Float64Array(B);
        idx.forEach((row, r) => { grad[r] = p[2 * r + 1] - labels[row]; });
      }
      for (let i = 0; i < grad.length; i++) grad[i] /= B;
      // Backward + AdamW, last layer first.
      step++;
      const rate = lr * 0.5 * (1 + Math.cos(Math.PI * (step - 1) / totalSteps));
      for (let k = layers.length - 1; k >= 0; k--) {
        const L = layers[k], x = inputs[k];
        const gw = new Float64Array(L.w.length), gb = new Float64Array(L.out);
        for (let r = 0; r < B; r++) {
          for (let o = 0; o < L.out; o++) {
            const g = grad[r * L.out + o];
            if (g === 0) continue;
            gb[o] += g;
            const wo = o * L.in, xr = r * L.in;
            for (let i = 0; i < L.in; i++) gw[wo + i] += g * x[xr + i];
          }
        }
        if (k > 0) {
          const down = new Float64Array(B * L.in);
          for (let r = 0; r < B; r++) {
            for (let o = 0; o < L.out; o++) {
              const g = grad[r * L.out + o];
              if (g === 0) continue;
              const wo = o * L.in, dr = r * L.in;
              for (let i = 0; i < L.in; i++) down[dr + i] += g * L.w[wo + i];
            }
          }
          const below = pre[k - 1];
          for (let i = 0; i < down.length; i++) if (below[i] <= 0) down[i] = 0; // ReLU
          grad = down;
        }
        adamw(L.w, gw, adam[k].mw, adam[k].vw, step, rate, weightDecay);
        adamw(L.b, gb, adam[k].mb, adam[k].vb, step, rate, 0);
      }
    }
    const rec = { epoch, trainLoss: lossSum / order.length, trainAcc: correct / order.length, valLoss: undefined, valAcc: undefined };
    if (split.val.length) {
      const pv = predict(layers, zVal, split.val.length);
      rec.valLoss = meanLoss(pv, split.val, labels, numClasses);
      rec.valAcc = accuracy(pv, split.val, labels, numClasses);
    }
    history.push(rec);
    onEpoch?.(rec);
  }

  const trainAccuracy = accuracy(predict(layers, gather(z, dim, split.train), split.train.length), split.train, labels, numClasses);
  const valProbabilities = predict(layers, zVal, split.val.length);
  const confusion = Array.from({ length: numClasses }, () => new Array(numClasses).fill(0));
  const valPredictions = split.val.map((row, r) => {
    const predicted = argmaxRow(valProbabilities, r, numClasses);
    confusion[labels[row]][predicted]++;
    return { row, label: labels[row], predicted, probability: valProbabilities[r * numClasses + predicted] };
  });

  // Fold the standardisation into the first layer: W·((x − μ)/σ) + b = (W/σ)·x + (b − W·(μ/σ)).
  const first = layers[0];
  const w0 = new Float64Array(first.w.length), b0 = Float64Array.from(first.b);
  for (let o = 0; o < first.out; o++) {
    for (let d = 0; d < dim; d++) {
      w0[o * dim + d] = first.w[o * dim + d] / std[d];
      b0[o] -= first.w[o * dim + d] * mean[d] / std[d];
    }
  }
  const folded = [{ ...first, w: w0, b: b0 }, ...layers.slice(1)];
  const spec = [], tensors = new Map();
  folded.forEach((L, i) => {
    const k = spec.length;
    spec.push({ type: 'linear', in: L.in, out: L.out });
    tensors.set(`head.${k}.weight`, Float32Array.from(L.w));
    tensors.set(`head.${k}.bias`, Float32Array.from(L.b));
    if (i < folded.length - 1) spec.push({ type: 'relu' });
  });
  return {
    layers: spec, output: outputs > 1 ? 'softmax' : 'sigmoid', tensors, split, history, trainAccuracy,
    valAccuracy: split.val.length ? accuracy(valProbabilities, split.val, labels, numClasses) : undefined,
    confusion, valProbabilities, valPredictions,
  };
}

function accuracy(p, rows, labels, numClasses) {
  if (!rows.length) return undefined;
  let ok = 0;
  rows.forEach((row, r) => { if (argmaxRow(p, r, numClasses) === labels[row]) ok++; });
  return ok / rows.length;
}

function adamw(param, grad, m, v, t, rate, weightDecay, b1 = 0.9, b2 = 0.999, eps = 1e-8) {
  const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  for (let i = 0; i < param.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * grad[i];
    v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
    param[i] -= rate * (weightDecay * param[i] + (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps));
  }
}
