// Head files and model.setHead (docs/FORMAT.md "Head files", docs/API.md): a head trained on a model's
// embeddings, written to a .head.safetensors file and attached to the loaded model in the engine. What must hold:
// - encodeHead/decodeHead round-trip every field and tensor, and the bytes are a valid safetensors file;
// - with a head attached, classify() gives the probabilities of the head computed here in float64 from the
//   model's own embed() output (the oracle), within 1e-5, for a linear, an MLP and a bce (one sigmoid output) head;
// - setHead(null) gives back the model's own logits bit for bit; every refused head (damaged file, not a head,
//   bad metadata, other widths, other backbone) is E_HEAD and leaves the model exactly as it was;
// - the backbone fingerprint is the documented hash (recomputed here from the weights) and is the same for the
//   model's f16 and int8 re-encodings, so a head trained on f32 attaches to them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { load, encodeHead, decodeHead } from '../../src/js/index.js';
import { trainHead } from '../../src/js/head/train.js';
import { convert } from '../../src/js/convert/index.js';
import { openVitrineModel } from '../../src/js/convert/vitrine-source.js';
import { tensorTable } from '../../src/js/convert/mapping.js';
import { ROOT, PHOTOS, tmpDir, requireBuild } from '../helpers/env.js';

const BASE = path.join(ROOT, 'weights/cifar10-vit');
const photos = () => fs.readdirSync(PHOTOS).filter((f) => /\.(jpe?g|png)$/i.test(f) && !/truncated/.test(f)).sort().map((f) => path.join(PHOTOS, f));

/** The head's probabilities for one embedding, in float64: layers as written, then softmax or sigmoid. */
function oracle(head, embedding) {
  let h = Array.from(embedding);
  head.layers.forEach((L, k) => {
    if (L.type === 'relu') { h = h.map((v) => Math.max(0, v)); return; }
    const w = head.tensors.get(`head.${k}.weight`), b = head.tensors.get(`head.${k}.bias`);
    h = Array.from({ length: L.out }, (_, o) => {
      let s = b[o];
      for (let i = 0; i < L.in; i++) s += w[o * L.in + i] * h[i];
      return s;
    });
  });
  if (head.output === 'sigmoid') return h.map((z) => 1 / (1 + Math.exp(-z)));
  const m = Math.max(...h), e = h.map((z) => Math.exp(z - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

async function embedAll(model, files, pooling) {
  const rows = [];
  for (const f of files) rows.push(await model.embed(f, { pooling }));
  return rows;
}

/** A head trained on the rows' embeddings, labels = file index mod numClasses. */
function headFor(model, rows, { numClasses = 3, hidden = 0, loss = 'softmax', pooling = 'cls', seed = 1 } = {}) {
  const dim = rows[0].length;
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => features.set(r, i * dim));
  const labels = rows.map((_, i) => i % numClasses);
  const res = trainHead(features, labels, { dim, numClasses, hidden, loss, epochs: 20, lr: 1e-2, valFraction: 0, seed });
  return {
    pooling, layers: res.layers, output: res.output, tensors: res.tensors,
    labels: Array.from({ length: numClasses }, (_, c) => `class-${c}`),
    backbone: model.headBackbone(pooling), training: { seed, epochs: 20 },
  };
}

/** The model's full state as the API shows it: raw logits and classify's top-5 for a few photos. */
async function snapshot(model, files) {
  const out = [];
  for (const f of files) {
    const { pixels, height, width } = await model.preprocess(f);
    const { logits } = await model.forward(pixels, { height, width });
    out.push({ logits: Array.from(logits), top: await model.classify(f, { topK: 5 }), labels: model.info.labels });
  }
  return out;
}

describe('head files and model.setHead', () => {
  let model, files, rows, head;
  before(async () => {
    requireBuild('st');
    model = await load(BASE, { build: 'st' });
    files = photos();
    rows = await embedAll(model, files, 'cls');
    head = headFor(model, rows);
  });
  after(() => model?.dispose());

  test('encodeHead → decodeHead round trip; the bytes are a safetensors file with the documented metadata', () => {
    const bytes = encodeHead(head);
    const back = decodeHead(bytes);
    for (const k of ['pooling', 'layers', 'output', 'labels', 'backbone', 'training']) assert.deepEqual(back[k], head[k], k);
    assert.deepEqual([...back.tensors.keys()], [...head.tensors.keys()]);
    for (const [name, t] of head.tensors) assert.deepEqual(back.tensors.get(name), t, name);
    assert.deepEqual(encodeHead(back), bytes, 'encoding is deterministic');
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(n % 8, 0, 'header padded to 8 bytes');
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    assert.equal(header.__metadata__.format, 'vitrine-head');
    assert.equal(header.__metadata__.version, '1');
    assert.ok(Object.values(header.__metadata__).every((v) => typeof v === 'string'));
    assert.deepEqual(header['head.0.weight'], { dtype: 'F32', shape: [3, 192], data_offsets: [0, 3 * 192 * 4] });
    assert.equal(bytes.length, 8 + n + (3 * 192 + 3) * 4);
  });

  test('the backbone fingerprint is the documented hash of the architecture line and the 1-D backbone tensors', async () => {
    const src = openVitrineModel(BASE);
    const a = src.manifest.architecture;
    const parts = [Buffer.from(`vitrine-backbone 1\nfamily ${a.family} hidden ${a.hidden_size} layers ${a.num_hidden_layers} heads ${a.num_attention_heads} ` +
      `intermediate ${a.intermediate_size} patch ${a.patch_size} image ${a.image_size} channels ${a.num_channels}\n`)];
    for (const row of await tensorTable(a)) {
      if (row.shape.length !== 1 || /^(classifier|distillation_classifier|head)\./.test(row.name)) continue;
      const v = src.readF32(row.name);
      parts.push(Buffer.from(`${row.name} ${row.shape[0]}\n`), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    }
    assert.equal(model.info.backbone.fingerprint, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
    assert.deepEqual({ ...model.info.backbone.input_dim }, { cls: 192, mean: 192, 'cls+mean': 384 });
    assert.deepEqual(model.headBackbone('cls+mean'), { name: 'cifar10-vit', family: 'vit', hidden_size: 192, input_dim: 384, fingerprint: model.info.backbone.fingerprint });
  });

  for (const [what, opts] of [['linear', {}], ['MLP', { hidden: 8 }], ['mean-pooled linear', { pooling: 'mean' }]]) {
    test(`${what} head: classify() gives the head's probabilities on embed() output (within 1e-5); setHead(null) restores the logits bit for bit`, async () => {
      const own = await snapshot(model, files.slice(0, 3));
      const r = opts.pooling ? await embedAll(model, files, opts.pooling) : rows;
      const h = headFor(model, r, opts);
      await model.setHead(encodeHead(h));
      assert.equal(model.info.classifier, 'head');
      assert.deepEqual(model.info.labels, h.labels);
      assert.deepEqual(model.info.head, { pooling: h.pooling, layers: h.layers, output: 'softmax' });
      for (const [i, f] of files.entries()) {
        const want = oracle(h, await model.embed(f, { pooling: h.pooling }));
        assert.deepEqual(Array.from(await model.embed(f, { pooling: h.pooling })), Array.from(r[i]), 'a head leaves the embeddings alone');
        const top = await model.classify(f, { topK: 3 });
        assert.equal(top.length, 3);
        for (const p of top) {
          assert.equal(p.label, h.labels[p.index]);
          assert.ok(Math.abs(p.score - want[p.index]) <= 1e-5, `${path.basename(f)} ${p.label}: engine ${p.score} vs oracle ${want[p.index]}`);
        }
      }
      await model.setHead(null);
      assert.deepEqual(await snapshot(model, files.slice(0, 3)), own);
      assert.equal(model.info.classifier, 'cls');
    });
  }

  test('bce head: one sigmoid output; classify ranks [negative, positive] = [1 − p, p]', async () => {
    const h = headFor(model, rows, { numClasses: 2, loss: 'bce' });
    assert.equal(h.output, 'sigmoid');
    assert.deepEqual(h.layers, [{ type: 'linear', in: 192, out: 1 }]);
    await model.setHead(h);
    try {
      assert.deepEqual(model.info.labels, ['class-0', 'class-1']);
      for (const f of files.slice(0, 5)) {
        const [p] = oracle(h, await model.embed(f));
        const top = await model.classify(f, { topK: 2 });
        const score = Object.fromEntries(top.map((t) => [t.label, t.score]));
        assert.ok(Math.abs(score['class-1'] - p) <= 1e-5, `${f}: P(positive) ${score['class-1']} vs ${p}`);
        assert.ok(Math.abs(score['class-0'] - (1 - p)) <= 1e-5);
        const { pixels, height, width } = await model.preprocess(f);
        const out = await model.forward(pixels, { height, width });
        assert.equal(out.logits.length, 1);
        assert.ok(Math.abs(out.scores[0] - p) <= 1e-5);
      }
    } finally {
      await model.setHead(null);
    }
  });

  test('refused heads are E_HEAD and leave the model as it was (own classifier, or the head attached before)', async () => {
    const good = encodeHead(head);
    const jpeg = fs.readFileSync(files.find((f) => f.endsWith('.jpg')));
    const withMeta = (patch) => encodeHead({ ...head, ...patch });
    const rewriteMeta = (key, value) => {
      // The same file with one metadata string replaced (header re-padded).
      const n = Number(new DataView(good.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
      header.__metadata__[key] = value;
      const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8 + 8));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return new Uint8Array(Buffer.concat([len, json, good.subarray(8 + n)]));
    };
    const otherFingerprint = { ...head.backbone, fingerprint: 'ab'.repeat(32) };
    const narrow = { ...head, layers: [{ type: 'linear', in: 64, out: 3 }], backbone: { ...head.backbone, input_dim: 64 },
      tensors: new Map([['head.0.weight', new Float32Array(3 * 64)], ['head.0.bias', new Float32Array(3)]]) };
    const cases = [
      ['truncated file', good.subarray(0, good.length - 10), /run past the end|data_offsets/],
      ['truncated header', good.subarray(0, 20), /runs past the end/],
      ['a JPEG (not safetensors)', new Uint8Array(jpeg), /header length|not valid JSON/],
      ['5 bytes', new Uint8Array(5), /too short/],
      ['format not vitrine-head', rewriteMeta('format', 'pytorch'), /"format" is "pytorch"/],
      ['version 2', rewriteMeta('version', '2'), /"version" is "2"/],
      ['labels not JSON', rewriteMeta('labels', '[oops'), /"labels" is not valid JSON/],
      ['two labels for three outputs', rewriteMeta('labels', '["a","b"]'), /2 labels for a head with 3 outputs/],
      ['head layers wider than the tensors', rewriteMeta('head', JSON.stringify({ pooling: 'cls', layers: [{ type: 'linear', in: 192, out: 4 }], output: 'softmax' })), /labels for a head with 4 outputs|shape/],
      ['unknown pooling', rewriteMeta('head', JSON.stringify({ pooling: 'max', layers: head.layers, output: 'softmax' })), /head.pooling must be one of/],
      ['pooled width of another model', encodeHead(narrow), /backbone.input_dim is 64 but this model's "cls" pooling gives 192/],
      ['hidden size of another model', withMeta({ backbone: { ...head.backbone, hidden_size: 768 } }), /hidden_size is 768 but this model's is 192/],
      ['another backbone', withMeta({ backbone: otherFingerprint }), /backbone.fingerprint is abab.* but this model's .* is [0-9a-f]{64}; pass \{ anyBackbone: true \}/],
      ['a head object with a missing tensor', { ...head, tensors: new Map([['head.0.weight', head.tensors.get('head.0.weight')]]) }, /tensor "head.0.bias" must be a Float32Array/],
      ['a non-finite weight', { ...head, tensors: new Map([...head.tensors].map(([k, v]) => [k, k.endsWith('bias') ? Float32Array.of(NaN, 0, 0) : v])) }, /not finite/],
      ['a number', 42, /needs a head object/],
    ];
    const h2 = headFor(model, rows, { numClasses: 2, seed: 4 });
    for (const state of ['own classifier', 'a head attached']) {
      if (state === 'a head attached') await model.setHead(h2);
      const before = await snapshot(model, files.slice(0, 2));
      const info = model.info;
      for (const [what, input, message] of cases) {
        await assert.rejects(model.setHead(input), (e) => e.code === 'E_HEAD' && message.test(e.message), `${state}: ${what}`);
        assert.equal(model.info, info, `${state}: ${what}: info unchanged`);
      }
      assert.deepEqual(await snapshot(model, files.slice(0, 2)), before, `${state}: logits and top-5 unchanged after every refusal`);
    }
    await model.setHead(null);
    // { anyBackbone: true } accepts a head whose fingerprint differs (widths must still fit).
    await model.setHead(withMeta({ backbone: otherFingerprint }), { anyBackbone: true });
    const want = oracle(head, rows[0]);
    const top = await model.classify(files[0], { topK: 3 });
    for (const p of top) assert.ok(Math.abs(p.score - want[p.index]) <= 1e-5);
    await assert.rejects(model.setHead(encodeHead(narrow), { anyBackbone: true }), (e) => e.code === 'E_HEAD' && /input_dim is 64/.test(e.message));
    await model.setHead(null);
  });

  test('load(source, { head }) attaches a head file (path, bytes); a bad head fails the load with E_HEAD', async () => {
    const file = path.join(tmpDir('headfile'), 'x.head.safetensors');
    fs.writeFileSync(file, encodeHead(head));
    for (const source of [file, fs.readFileSync(file), new Blob([fs.readFileSync(file)])]) {
      const m = await load(BASE, { build: 'st', head: source });
      try {
        assert.deepEqual(m.info.labels, head.labels);
        const want = oracle(head, rows[1]);
        for (const p of await m.classify(files[1], { topK: 3 })) assert.ok(Math.abs(p.score - want[p.index]) <= 1e-5);
      } finally {
        await m.dispose();
      }
    }
    await assert.rejects(load(BASE, { build: 'st', head: new Uint8Array(12) }), (e) => e.code === 'E_HEAD');
    await assert.rejects(load(BASE, { build: 'st', head: path.join(tmpDir('headfile'), 'missing.head.safetensors') }), (e) => e.code === 'E_HEAD' && /cannot read/.test(e.message));
  });

  test('a head trained on the f32 model attaches to its f16 and int8 re-encodings (same fingerprint)', async () => {
    for (const dtype of ['f16', 'int8']) {
      const dir = path.join(tmpDir(`head-${dtype}`), 'model');
      await convert(BASE, dir, { dtype });
      const m = await load(dir, { build: 'st' });
      try {
        assert.equal(m.info.backbone.fingerprint, model.info.backbone.fingerprint, dtype);
        await m.setHead(encodeHead(head));
        const want = oracle(head, await m.embed(files[0]));
        for (const p of await m.classify(files[0], { topK: 3 })) assert.ok(Math.abs(p.score - want[p.index]) <= 1e-5, `${dtype} ${p.label}`);
      } finally {
        await m.dispose();
      }
    }
  });
});
