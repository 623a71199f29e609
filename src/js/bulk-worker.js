// One worker thread of a bulk run (src/js/bulk.js): loads its own engine, resolves the task options with it
// (resolveTask, reported when ready), then classifies/embeds the files it is sent, one at a time, answering
// { i, value } or { i, error: { code, message } } for a bad image.
import { parentPort, workerData } from 'node:worker_threads';
import { load, VitrineError } from './index.js';
import { resolveTask } from './bulk.js';

const { source, loadOptions, task } = workerData;
let model, taskOptions;
try {
  model = await load(source, loadOptions);
  taskOptions = resolveTask(model, task, workerData.taskOptions);
} catch (e) {
  await model?.dispose();
  model = null;
  parentPort.postMessage(e instanceof VitrineError ? { loadError: { code: e.code, message: e.message } } : { fatal: e?.stack ?? String(e) });
}
if (model) {
  // Messages are handled in order: the model's own queue runs them one at a time.
  parentPort.on('message', async ({ i, file }) => {
    try {
      const value = await model[task](file, taskOptions);
      parentPort.postMessage({ i, value }, value instanceof Float32Array ? [value.buffer] : []);
    } catch (e) {
      parentPort.postMessage(e instanceof VitrineError ? { i, error: { code: e.code, message: e.message } } : { fatal: e?.stack ?? String(e) });
    }
  });
  parentPort.postMessage({ ready: true, taskOptions });
}
