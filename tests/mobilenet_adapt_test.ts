/**
 * The eight adaptation methods on MobileNetV2 (the nsfwjs backbone, 64²):
 * each trains for two steps (the loss falls) with only its own parameters changing and the
 * frozen backbone bit-identical; at 224² batch 8 the saved-set and
 * training-memory ordering holds (DA³ below every adapting baseline, ≥ 5×
 * below fine-tuning in total with Adam; ≤ 16 MB under TinyTL's accounting).
 */
import assert from "node:assert/strict";
import { grad, type GradResult } from "../lib/autodiff/mod.ts";
import { isTrainable, params, sourceName, type Tensor } from "../lib/graph/mod.ts";
import { da3, type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, mobilenetV2 } from "../lib/models/mod.ts";
import { CPU_TARGET, memorySummary, planGraph, tinyTLConventionBytes } from "../lib/plan/mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import { initOptimizer } from "../lib/train/optimizer.ts";
import { trainStep } from "../lib/train/step.ts";
import { dequantizeAffine } from "../lib/io/affine_u8.ts";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";
import { parityImagesNchw } from "./tfjs_inputs.ts";

const NAMES = Object.keys(METHODS) as MethodName[];
const BATCH = 2;
const SIZE = 64;
const IMAGE = parityImagesNchw(BATCH, SIZE);
const LABELS = new Int32Array([0, 1]);
const BACKBONE = dequantizeAffine(
  (await readSafetensorsFile("models/mobilenetv2.safetensors")).tensors,
);

const BN = String.raw`(_BN|^bn_Conv1|^Conv_1_bn)`;
const BN_AFFINE = new RegExp(`${BN}\\.(weight|bias)$`);
const BN_BIAS = new RegExp(`${BN}\\.bias$`);
const HEAD = /^fc\./;
const STATS = /\.running_(mean|var)$/;

/** Which parameters each method trains, by name. */
const OWN: Record<MethodName, (name: string) => boolean> = {
  finetune: (n) => !STATS.test(n),
  lastlayer: (n) => HEAD.test(n),
  bnhead: (n) => HEAD.test(n) || BN_AFFINE.test(n),
  piggyback: (n) => HEAD.test(n) || n.endsWith(".mask"),
  parallel: (n) => HEAD.test(n) || BN_AFFINE.test(n) || n.endsWith(".parallel.weight"),
  series: (n) => HEAD.test(n) || BN_AFFINE.test(n) || (n.includes(".series.") && !STATS.test(n)),
  tinytl: (n) => HEAD.test(n) || BN_BIAS.test(n) || (n.includes(".lite.") && !STATS.test(n)),
  da3: (n) => HEAD.test(n) || n.includes(".da3."),
};

function names(ts: Iterable<Tensor>): string[] {
  return [...ts].map(sourceName).sort();
}

for (const name of NAMES) {
  Deno.test(`${name}: trains on MobileNetV2 at 64², only its own parameters change`, () => {
    const model = mobilenetV2({
      adaptor: METHODS[name]().adaptor,
      classes: 4,
      batch: BATCH,
      size: SIZE,
    });
    const g = grad(classificationLoss(model));
    const all = params(g.graph);
    const trainable = names(all.filter(isTrainable));
    assert.deepEqual(trainable, names(all.filter((p) => OWN[name](sourceName(p)))));
    assert.deepEqual(names(g.grads.keys()), trainable);

    const before = initParams(g.graph, 1, new Map(BACKBONE));
    const snapshot = new Map([...before].map(([k, v]) => [k, v.slice()]));
    let store = before;
    let state = initOptimizer({ kind: "sgd", momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 2; step++) {
      const r = trainStep(g, store, { x: IMAGE, labels: LABELS }, state, 0.01);
      losses.push(r.loss);
      store = r.params;
      state = r.state;
    }
    assert.ok(losses[1] < losses[0], `${name}: loss ${losses.map((l) => l.toFixed(4))}`);
    const own = new Set(trainable);
    let changed = 0;
    for (const [p, w] of snapshot) {
      const same = store.get(p)!.every((v, i) => Object.is(v, w[i]));
      if (!own.has(p)) assert.ok(same, `${name}: frozen ${p} changed`);
      else if (!same) changed++;
    }
    assert.ok(
      changed > 0 && !store.get("fc.weight")!.every((v, i) => v === snapshot.get("fc.weight")![i]),
    );
    for (const [k, v] of BACKBONE) {
      if (!own.has(k)) {
        assert.ok(store.get(k)!.every((x, i) => Object.is(x, v[i])), `${name}: ${k}`);
      }
    }
  });
}

const B8: Map<MethodName, GradResult> = new Map(
  NAMES.map((n) => [
    n,
    grad(classificationLoss(mobilenetV2({ adaptor: METHODS[n]().adaptor, classes: 10, batch: 8 }))),
  ]),
);

Deno.test("MobileNetV2 b8 224²: DA³ saves fewer activation bytes than every adapting baseline", () => {
  const mb = (n: MethodName) => B8.get(n)!.savedBytes / 1e6;
  const table = NAMES.map((n) => `${n} ${mb(n).toFixed(2)} MB`).join(", ");
  console.log(`saved activations: ${table}`);
  for (
    const other of ["finetune", "bnhead", "piggyback", "parallel", "series", "tinytl"] as const
  ) {
    assert.ok(mb("da3") < mb(other), `da3 vs ${other}: ${table}`);
  }
  assert.ok(mb("lastlayer") < mb("da3"), table);
  const tinyTL = tinyTLConventionBytes(B8.get("da3")!);
  assert.ok(tinyTL <= 16e6, `DA³ under TinyTL's accounting: ${tinyTL} bytes`);
});

Deno.test("MobileNetV2 b8 224², Adam: DA³ from the block input is ≥5× below fine-tuning in total", () => {
  const total = (name: string, g: GradResult) =>
    memorySummary(planGraph(g, CPU_TARGET, { optimizer: "adam" }), {
      model: "mobilenetv2",
      method: name,
      batch: 8,
      size: 224,
    }).totalBytes;
  const ft = total("finetune", B8.get("finetune")!);
  const pairSource = total("da3", B8.get("da3")!);
  const blockSource = total(
    "da3",
    grad(
      classificationLoss(
        mobilenetV2({ adaptor: da3({ source: "block" }).adaptor, classes: 10, batch: 8 }),
      ),
    ),
  );
  console.log(
    `total: finetune ${ft / 1e6} MB, da3 ${pairSource / 1e6} MB, da3 source block ${
      blockSource / 1e6
    } MB`,
  );
  assert.ok(ft >= 5 * blockSource, `${ft} vs ${blockSource}`);
  // Attention read from each pair's own (expanded, up to 960-channel) input costs more.
  assert.ok(pairSource > blockSource);
});
