// The page's training worker: runs the head trainer (src/js/head/train.js, the same code as `vitrine
// train-head`) on embeddings the engine worker computed, so the page stays responsive and the engine worker
// stays free for photos. One training run per worker; the page terminates it to stop early.
//
//   page → worker  { features: Float32Array [n · dim], labels: Int32Array [n], options: trainHead options }
//   worker → page  { type: 'epoch', record: { epoch, trainLoss, trainAcc, valLoss?, valAcc? } }   (every epoch)
//                  { type: 'done', result: { layers, tensors: Map, history, confusion, split, … } }
//                  { type: 'error', code, message }
import { trainHead } from '../src/js/head/train.js';

self.onmessage = ({ data: m }) => {
  try {
    const res = trainHead(m.features, m.labels, { ...m.options, onEpoch: (record) => self.postMessage({ type: 'epoch', record }) });
    self.postMessage({ type: 'done', result: res }, [...res.tensors.values()].map((t) => t.buffer));
  } catch (e) {
    self.postMessage({ type: 'error', code: e?.code ?? 'E_INPUT', message: String(e?.message ?? e) });
  }
};
