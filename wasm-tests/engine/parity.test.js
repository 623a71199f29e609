// Golden parity: every fixture case converted → loaded → forward → compared with the Hugging Face outputs at
// the case's tolerance, through each WASM build (JS API), the native driver, and the CLI's `forward`.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { load } from '../../src/js/index.js';
import {
  BUILDS, CLI, NATIVE, FIXTURES, cases, caseInfo, caseInputs, convertedCase, requireBuild, assertClose, npy, tmpDir,
} from '../helpers/env.js';

const CASES = cases();
const report = []; // { build, case, input, lhs, logits, ... } printed at the end
const summary = (r) => [['lhs', r.lhs], ['logits', r.logits], ['pooler_output', r.pooler], ['image_embeds', r.embeds]]
  .filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v.toExponential(2)}`).join('  ');

function check(t, build, name, inp, out) {
  const tol = caseInfo(name).tolerance;
  const row = { build, case: name + inp.suffix };
  assert.equal(out.numTokens * out.hiddenSize, inp.lastHiddenState.data.length, 'token × hidden count');
  row.lhs = assertClose(out.lastHiddenState, inp.lastHiddenState.data, tol, `${build} ${name}${inp.suffix} last_hidden_state`);
  if (inp.logits) {
    assert.ok(out.logits, `${name}: the model returned no logits`);
    row.logits = assertClose(out.logits, inp.logits.data, tol, `${build} ${name}${inp.suffix} logits`);
  } else {
    assert.ok(!out.logits, `${name}: no golden logits but the model produced some`);
  }
  // The vision towers' pooled outputs, under HF's names: present exactly when HF has them.
  for (const [key, field] of [['pooler', 'poolerOutput'], ['embeds', 'imageEmbeds']]) {
    if (inp[field]) {
      assert.ok(out[field], `${name}: the model returned no ${field}`);
      row[key] = assertClose(out[field], inp[field].data, tol, `${build} ${name}${inp.suffix} ${field}`);
    } else {
      assert.ok(!out[field], `${name}: no golden ${field} but the model produced one`);
    }
  }
  t.diagnostic(`max abs diff: ${summary(row)} (tol ${tol})`);
  report.push(row);
  return row;
}

for (const build of BUILDS) {
  describe(`parity through the JS API, ${build} build`, () => {
    before(() => requireBuild(build));
    for (const name of CASES) {
      test(name, async (t) => {
        const dir = await convertedCase(name);
        const info = caseInfo(name);
        const model = await load(dir, { build, threads: build === 'mt' ? 2 : undefined });
        try {
          assert.equal(model.info.build, build);
          assert.equal(model.info.family, info.family);
          assert.deepEqual([...model.info.labels], info.labels ?? []);
          const head = model.info.classifier === 'head' ? JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).architecture.head : null;
          for (const inp of caseInputs(name)) {
            const out = await model.forward(inp.pixels, { height: inp.height, width: inp.width, pooling: head?.pooling });
            check(t, build, name, inp, out);
            const base = path.join(FIXTURES, name);
            if (head) {
              // Custom head: pooled features and scores (softmax / sigmoid) as well.
              const pooled = npy(path.join(base, 'pooled.npy')).data;
              const scores = npy(path.join(base, 'scores.npy')).data;
              const dp = assertClose(out.embedding, pooled, info.tolerance, 'pooled');
              const ds = assertClose(out.scores, scores, info.tolerance, 'scores');
              t.diagnostic(`pooled ${dp.toExponential(2)}, scores ${ds.toExponential(2)}`);
            }
            if (name === 'deit-teacher') {
              // logits are the mean of both heads; check the golden halves agree with that definition.
              const a = npy(path.join(base, 'cls_logits.npy')).data, b = npy(path.join(base, 'distillation_logits.npy')).data;
              assertClose(out.logits, a.map((x, i) => (x + b[i]) / 2), info.tolerance, 'mean of the two heads');
            }
          }
        } finally {
          await model.dispose();
        }
      });
    }
  });
}

describe('parity through the native driver', () => {
  before(() => requireBuild('native'));
  for (const name of CASES) {
    test(name, async (t) => {
      const dir = await convertedCase(name);
      for (const inp of caseInputs(name)) {
        const out = tmpDir(`native-${name}`);
        execFileSync(NATIVE, ['forward', dir, inp.pixelsFile, out, '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const lhs = npy(path.join(out, 'last_hidden_state.npy'));
        const optional = (f) => (fs.existsSync(path.join(out, f)) ? npy(path.join(out, f)).data : undefined);
        const res = {
          lastHiddenState: lhs.data, numTokens: lhs.shape[0], hiddenSize: lhs.shape[1], logits: optional('logits.npy'),
          poolerOutput: optional('pooler_output.npy'), imageEmbeds: optional('image_embeds.npy'),
        };
        check(t, 'native', name, inp, res);
      }
    });
  }
});

for (const build of BUILDS) {
  describe(`parity through the CLI (vitrine forward), ${build} build`, () => {
    before(() => requireBuild(build));
    for (const name of CASES) {
      test(name, async (t) => {
        const dir = await convertedCase(name);
        const inp = caseInputs(name)[0];
        const outFile = path.join(tmpDir(`cli-${name}`), 'out.json');
        execFileSync(process.execPath, [CLI, 'forward', dir, '--pixels', inp.pixelsFile, '-o', outFile, '--build', build], { stdio: ['ignore', 'pipe', 'pipe'] });
        const o = JSON.parse(fs.readFileSync(outFile, 'utf8'));
        assert.equal(o.build, build);
        const f32 = (a) => a && Float32Array.from(a);
        check(t, `cli-${build}`, name, inp, {
          ...o, lastHiddenState: f32(o.lastHiddenState), logits: f32(o.logits), poolerOutput: f32(o.poolerOutput), imageEmbeds: f32(o.imageEmbeds),
        });
      });
    }
  });
}

after(() => {
  if (!report.length) return;
  const lines = report.map((r) => `${r.build.padEnd(7)} ${r.case.padEnd(28)} ${summary(r)}`);
  // One summary of the max abs diffs per build and case (also in each test's diagnostics).
  console.log(`# parity max abs diff\n# ${lines.join('\n# ')}`);
});
