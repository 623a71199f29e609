#!/usr/bin/env node
// Classify every image under a folder into CSV (file,label,score) with vitrine's public API.
//   node classify-folder.mjs <folder> [model folder or manifest URL] > labels.csv
// For big folders, many cores or many machines use the CLI instead (docs/BULK.md): it runs one engine per core
// and can shard and resume.
import fs from 'node:fs/promises';
import path from 'node:path';
import { load } from 'vitrine';

const [folder, model = 'default'] = process.argv.slice(2);
if (!folder) {
  console.error('usage: classify-folder.mjs <folder> [model] > labels.csv');
  process.exit(2);
}
const csv = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const classifier = await load(model);
const files = (await fs.readdir(folder, { recursive: true }))
  .filter((f) => /\.(jpe?g|jpe|jfif|png|bmp|gif)$/i.test(f))
  .sort();
console.log('file,label,score');
let failed = 0;
for (const f of files) {
  try {
    const [best] = await classifier.classify(path.join(folder, f), { topK: 1 });
    console.log([csv(f), csv(best.label), best.score.toFixed(4)].join(','));
  } catch (e) {
    if (!e.code) throw e;
    failed++;
    console.error(`${f}: ${e.message} [${e.code}]`);
  }
}
await classifier.dispose();
process.exitCode = failed ? 1 : 0;
