#!/usr/bin/env node
// Teach the default model a two-class task from photos in folders, end to end with the command line:
//   1. unpack CIFAR-10 cats and dogs (train split) into <work>/photos/{cat,dog}/ and unseen ones (test split)
//      into <work>/new/{cat,dog}/, as the JPEG files they are;
//   2. vitrine train-head default <work>/photos -o <work>/head   (a head on the frozen backbone: head file, model
//      folder, curve.svg, predictions.csv);
//   3. vitrine classify default <work>/new --head <work>/head/head.head.safetensors, and the accuracy on the new
//      photos (their folder names are the truth).
// usage: node cats-vs-dogs.mjs [--train 500] [--new 100] [--work DIR] [--epochs 100] [--seed 0]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readZip } from '../../tools/default-model/cifar10.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CLI = path.join(ROOT, 'src/js/cli.js');
const DATA = path.resolve(ROOT, '../shared/data/cifar10');
const CLASSES = ['cat', 'dog'];   // CIFAR-10 classes 3 and 5

const { values } = parseArgs({ options: {
  train: { type: 'string', default: '500' }, new: { type: 'string', default: '100' }, work: { type: 'string' },
  epochs: { type: 'string', default: '100' }, seed: { type: 'string', default: '0' }, data: { type: 'string', default: DATA },
} });
const perClass = Number(values.train), newPerClass = Number(values.new);
const work = values.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cats-vs-dogs-'));

/** The first `count` entries of each class from a CIFAR-10 zip, written to <dir>/<class>/<name>. */
function unpack(zip, dir, count) {
  const taken = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const e of readZip(zip)) {
    const [cls, name] = e.name.split('/');
    if (!CLASSES.includes(cls) || taken[cls] >= count) continue;
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    fs.writeFileSync(path.join(dir, cls, name), e.bytes);
    taken[cls]++;
  }
  for (const c of CLASSES) if (taken[c] < count) throw new Error(`${zip}: only ${taken[c]} "${c}" images, ${count} asked`);
}

function vitrine(...args) {
  console.error(`$ vitrine ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`vitrine ${args[0]} exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

const photos = path.join(work, 'photos'), fresh = path.join(work, 'new'), out = path.join(work, 'head');
unpack(path.join(values.data, 'train.zip'), photos, perClass);
unpack(path.join(values.data, 'test.zip'), fresh, newPerClass);
console.error(`${work}: ${perClass} training photos per class in photos/, ${newPerClass} new ones per class in new/`);

const t0 = Date.now();
vitrine('train-head', 'default', photos, '-o', out, '--epochs', values.epochs, '--seed', values.seed, '-v');
const trainSeconds = (Date.now() - t0) / 1000;

const csv = vitrine('classify', 'default', fresh, '--head', path.join(out, 'head.head.safetensors'), '--top', '1', '-q');
let correct = 0, total = 0;
for (const line of csv.trim().split('\n').slice(1)) {
  const [file, , , label] = line.split(',');
  total++;
  if (path.basename(path.dirname(file)) === label) correct++;
}
const report = JSON.parse(fs.readFileSync(path.join(out, 'head-training.json'), 'utf8'));
console.log(JSON.stringify({
  work, trainPerClass: perClass, newPerClass, epochs: Number(values.epochs), seed: Number(values.seed),
  validationAccuracy: report.valAccuracy, newPhotos: total, newAccuracy: correct / total, trainHeadSeconds: trainSeconds,
  files: { head: path.join(out, 'head.head.safetensors'), curve: path.join(out, 'curve.svg'), predictions: path.join(out, 'predictions.csv') },
}, null, 1));
