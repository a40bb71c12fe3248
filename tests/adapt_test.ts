/**
 * The eight adaptation methods: each trains on ResNet-20 with only its own
 * parameters changing, gradients flow only where needed, and the saved-set
 * and training-memory ordering the DA³ paper depends on holds for ResNet-50.
 */
import assert from "node:assert/strict";
import { grad, type GradResult } from "../lib/autodiff/mod.ts";
import {
  byteSize,
  graph,
  input,
  isTrainable,
  mean,
  mul,
  numel,
  param,
  params,
  sourceName,
  type Tensor,
} from "../lib/graph/mod.ts";
import { binarize } from "../lib/graph/ops/binarize.ts";
import {
  da3,
  fineTune,
  type MethodName,
  METHODS,
  perDomainBytes,
  perDomainParams,
  piggyback,
} from "../lib/adapt/mod.ts";
import { classificationLoss, type Model, resnet20, resnet50 } from "../lib/models/mod.ts";
import { CPU_TARGET, memorySummary, planGraph } from "../lib/plan/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { initParams } from "../lib/runtime/params.ts";
import { bnProbe, setRunningStats } from "../lib/train/bn_stats.ts";
import { initOptimizer } from "../lib/train/optimizer.ts";
import { trainStep } from "../lib/train/step.ts";

const NAMES = Object.keys(METHODS) as MethodName[];
const BATCH = 4;
const IMAGE = new Float32Array(BATCH * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
const LABELS = new Int32Array([0, 1, 2, 3]);

function cifar(name: MethodName, batch = BATCH): Model {
  return resnet20({ adaptor: METHODS[name]().adaptor, classes: 10, batch });
}

/** A "pre-trained" ResNet-20: seeded weights, running statistics of the training batch. */
function backbone(): ParamStore {
  const model = cifar("finetune");
  const store = initParams(graph(model.logits), 0);
  const probe = bnProbe([model.logits]);
  setRunningStats(probe, [executeCpu(probe.probe, { inputs: { x: IMAGE }, params: store })], store);
  return store;
}
const BACKBONE = backbone();

const BN_AFFINE = /(^|\.)(bn\d+|downsample\.1)\.(weight|bias)$/;
const BN_BIAS = /(^|\.)(bn\d+|downsample\.1)\.bias$/;
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
  Deno.test(`${name}: trains on ResNet-20, only its own parameters change`, () => {
    const g = grad(classificationLoss(cifar(name)));
    const all = params(g.graph);
    const trainable = names(all.filter(isTrainable));
    assert.deepEqual(trainable, names(all.filter((p) => OWN[name](sourceName(p)))));
    assert.deepEqual(names(g.grads.keys()), trainable);
    assert.ok(trainable.includes("fc.weight"));

    const before = initParams(g.graph, 1, new Map(BACKBONE));
    const snapshot = new Map([...before].map(([k, v]) => [k, v.slice()]));
    let store = before;
    let state = initOptimizer({ kind: "sgd", momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const r = trainStep(g, store, { x: IMAGE, labels: LABELS }, state, 0.02);
      losses.push(r.loss);
      store = r.params;
      state = r.state;
    }
    assert.ok(losses[2] < losses[0], `${name}: loss ${losses.map((l) => l.toFixed(4))}`);
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
  });
}

function count(g: GradResult, op: string): number {
  return [...g.backward].filter((n) => n.op === op).length;
}

Deno.test("gradients flow only where a method needs them", () => {
  const g = (name: MethodName) => grad(classificationLoss(cifar(name)));
  const last = g("lastlayer");
  assert.deepEqual([...last.backward].filter((n) => /^(conv2d|batchNorm)/.test(n.op)), []);
  assert.deepEqual(names(last.grads.keys()), ["fc.bias", "fc.weight"]);
  // ResNet-20 has 19 convs and 2 projections; the stem's input is the image.
  assert.equal(count(g("finetune"), "conv2dGradInput"), 20);
  // DA³ and BN+last: nothing trainable before layer1.0.conv1's output, no weight gradients.
  for (const name of ["da3", "bnhead", "tinytl"] as const) {
    const r = g(name);
    assert.equal(count(r, "conv2dGradWeight") > 0, name === "tinytl", name);
  }
  assert.equal(count(g("da3"), "conv2dGradInput"), 19);
  assert.equal(count(g("da3"), "batchNormGradGamma"), 0);
  assert.equal(count(g("da3"), "batchNormBatchGradInput"), 0);
});

Deno.test("Piggyback and DA³ start as the frozen backbone (masks above threshold, zero W₂)", () => {
  const logits = (name: MethodName) => {
    const model = cifar(name, 2);
    const store = initParams(graph(model.logits), 1, new Map(BACKBONE));
    const x = IMAGE.slice(0, 2 * 3 * 32 * 32);
    return executeCpu(graph(model.logits), { inputs: { x }, params: store })[0] as Float32Array;
  };
  const frozen = logits("lastlayer");
  assert.deepEqual(logits("piggyback"), frozen);
  assert.deepEqual(logits("da3"), frozen);
  assert.ok(frozen.some((v) => v !== 0));
});

Deno.test("binarize: 1 above the threshold, straight-through gradient, saves nothing", () => {
  const m = param("m", [4]);
  const y = binarize(m, 5e-3);
  const g = grad(mean(mul(y, input("c", [4]))));
  const store: ParamStore = new Map([["m", new Float32Array([-1, 5e-3, 5.1e-3, 2])]]);
  const c = new Float32Array([1, 2, 3, 4]);
  const [, dm] = executeCpu(graph(y, g.grads.get(m)!), { inputs: { c }, params: store });
  const [value] = executeCpu(graph(y), { inputs: {}, params: store });
  assert.deepEqual(value, new Float32Array([0, 0, 1, 1]));
  assert.deepEqual(dm, new Float32Array([0.25, 0.5, 0.75, 1]));
  assert.deepEqual(g.saved.map((s) => s.tensor.op), ["input"]);
});

Deno.test("per-domain storage: Piggyback masks at 1 bit, fine-tuning keeps BN statistics", () => {
  const pg = cifar("piggyback");
  const gp = graph(pg.logits);
  const masks = params(gp).filter((p) => sourceName(p).endsWith(".mask"));
  assert.equal(masks.length, 21);
  const maskBits = masks.reduce((s, p) => s + Math.ceil(p.shape.reduce((a, b) => a * b) / 8), 0);
  assert.equal(perDomainBytes(gp, piggyback()), maskBits + 4 * (10 * 64 + 10));
  const ft = graph(cifar("finetune").logits);
  const stats = perDomainParams(ft).filter((p) => !isTrainable(p));
  assert.equal(stats.length, 2 * 21);
  assert.equal(
    perDomainBytes(ft, fineTune()),
    4 * params(ft).reduce((s, p) => s + p.shape.reduce((a, b) => a * b), 0),
  );
});

// ResNet-50, batch 8, 224×224, 100 classes: the paper's reference setting (static, no execution).
const R50 = new Map(
  NAMES.map((name) => [
    name,
    grad(
      classificationLoss(resnet50({ adaptor: METHODS[name]().adaptor, classes: 100, batch: 8 })),
    ),
  ]),
);

Deno.test("DA³'s saved set on ResNet-50 holds no full-size fp32 activation", () => {
  const g = R50.get("da3")!;
  const smallest = byteSize([8, 64, 7, 7], "f32");
  for (const s of g.saved) {
    const ok = s.tensor.dtype === "mask" || (s.tensor.shape.length <= 2 && s.bytes < smallest);
    assert.ok(ok, `${s.tensor.op} ${s.tensor.dtype}[${s.tensor.shape}] read by ${s.readBy}`);
  }
  const spatial = grad(classificationLoss(
    resnet50({ adaptor: da3({ spatial: true }).adaptor, classes: 100, batch: 8 }),
  ));
  for (const s of spatial.saved.filter((v) => v.tensor.dtype === "f32")) {
    assert.ok(s.tensor.shape.length <= 2 || s.tensor.op === "channelMean", s.tensor.op);
  }
  assert.ok(spatial.savedBytes > g.savedBytes);
});

Deno.test("ResNet-50 b8 224²: DA³ saves fewer activation bytes than every other adapting method", () => {
  const mb = (name: MethodName) => R50.get(name)!.savedBytes / 1e6;
  const table = NAMES.map((n) => `${n} ${mb(n).toFixed(2)} MB`).join(", ");
  for (
    const other of ["finetune", "bnhead", "piggyback", "parallel", "series", "tinytl"] as const
  ) {
    assert.ok(mb("da3") < mb(other), `da3 vs ${other}: ${table}`);
  }
  assert.ok(mb("lastlayer") < mb("da3"));
  assert.ok(mb("da3") * 10 < mb("tinytl"), table);
});

Deno.test("ResNet-50 b8 224², Adam: DA³'s planned training memory is ≥5× below fine-tuning", () => {
  const total = (name: MethodName) =>
    memorySummary(planGraph(R50.get(name)!, CPU_TARGET, { optimizer: "adam" }), {
      model: "resnet50",
      method: name,
      batch: 8,
      size: 224,
    });
  const ft = total("finetune"), d = total("da3");
  assert.ok(ft.totalBytes >= 5 * d.totalBytes, `${ft.totalBytes} vs ${d.totalBytes}`);
  assert.ok(d.gradientBytes < ft.gradientBytes / 10);
});

Deno.test("DA³ options: placement, source, reduction and the spatial term", () => {
  const build = (o: Parameters<typeof da3>[0]) =>
    params(graph(resnet20({ adaptor: da3(o).adaptor, classes: 10, batch: 2 }).logits))
      .filter((p) => sourceName(p).includes(".da3."));
  const shape = (ps: Tensor[], name: string) => ps.find((p) => sourceName(p) === name)?.shape;
  assert.equal(build({}).length, 4 * 18);
  assert.equal(build({ placement: "last" }).length, 4 * 9);
  assert.equal(build({ stages: [3] }).length, 4 * 6);
  const scaled = da3({ lrScale: 3 }).lrScale!;
  assert.deepEqual([scaled("layer1.0.conv1.da3.fc2.weight"), scaled("fc.weight")], [3, 1]);
  assert.ok(build({ stages: [2, 3] }).every((p) => !sourceName(p).startsWith("layer1.")));
  assert.equal(build({ spatial: true }).length, 5 * 18);
  assert.deepEqual(shape(build({}), "layer2.0.conv2.da3.fc1.weight"), [2, 32]);
  assert.deepEqual(shape(build({ source: "block" }), "layer2.0.conv2.da3.fc1.weight"), [1, 16]);
  assert.deepEqual(shape(build({ reduction: 4 }), "layer3.1.conv1.da3.fc2.weight"), [64, 16]);
  assert.deepEqual(shape(build({ reduction: 64 }), "layer1.0.conv1.da3.fc1.weight"), [1, 16]);
  assert.throws(() => build({ reduction: 0 }), /reduction/);

  const model = resnet20({
    adaptor: da3({ spatial: true, source: "block" }).adaptor,
    classes: 10,
    batch: BATCH,
  });
  const g = grad(classificationLoss(model));
  const store = initParams(g.graph, 1, new Map(BACKBONE));
  const out = executeCpu(g.graph, { inputs: { x: IMAGE, labels: LABELS }, params: store });
  const names = [...g.grads.keys()].map(sourceName);
  const dw = out[1 + names.indexOf("layer2.0.conv2.da3.spatial.weight")] as Float32Array;
  assert.ok(dw.every(Number.isFinite) && dw.some((v) => v !== 0));
  for (const s of g.saved.filter((v) => v.tensor.dtype === "f32" && v.tensor.shape.length > 2)) {
    assert.equal(s.tensor.op, "channelMean");
  }
});

/** With every attention's W₂ at 0.1, the gradient of parameter `name` is finite and not all zero. */
function assertLiveGradient(g: GradResult, store: ParamStore, name: string): void {
  for (const p of params(g.graph).filter((p) => sourceName(p).endsWith("fc2.weight"))) {
    store.set(sourceName(p), new Float32Array(numel(p.shape)).fill(0.1));
  }
  const out = executeCpu(g.graph, { inputs: { x: IMAGE, labels: LABELS }, params: store });
  const dw = out[1 + [...g.grads.keys()].map(sourceName).indexOf(name)] as Float32Array;
  assert.ok(dw && dw.every(Number.isFinite) && dw.some((v) => v !== 0), name);
}

Deno.test("DA³ grid attention: 1×1 convs on x pooled to g×g; keeps only the pooled cells", () => {
  const model = resnet20({ adaptor: da3({ grid: 4 }).adaptor, classes: 10, batch: BATCH });
  const g = grad(classificationLoss(model));
  const ps = params(g.graph).filter((p) => sourceName(p).includes(".da3."));
  assert.deepEqual(
    ps.find((p) => sourceName(p) === "layer2.0.conv1.da3.fc2.weight")?.shape,
    [32, 1, 1, 1],
  );
  for (const s of g.saved.filter((v) => v.tensor.dtype === "f32" && v.tensor.shape.length > 2)) {
    assert.ok(s.tensor.op === "avgPool2d" || s.tensor.op === "relu", s.tensor.op);
    assert.deepEqual(s.tensor.shape.slice(2), [4, 4], `${s.tensor.op} [${s.tensor.shape}]`);
  }
  assertLiveGradient(g, initParams(g.graph, 1, new Map(BACKBONE)), "layer3.1.conv1.da3.fc1.weight");
  assert.throws(
    () => resnet20({ adaptor: da3({ grid: 3 }).adaptor, classes: 10, batch: 1 }),
    /grid 3 must divide layer1\.0\.conv1/,
  );
});

Deno.test("DA³ stem term: a zero conv of the image; keeps no fp32 activation beyond the input", () => {
  const model = resnet20({ adaptor: da3({ stem: true }).adaptor, classes: 10, batch: BATCH });
  const g = grad(classificationLoss(model));
  const w = params(g.graph).find((p) => sourceName(p) === "conv1.da3.weight");
  assert.deepEqual(w?.shape, [16, 3, 3, 3]);
  for (const s of g.saved.filter((v) => v.tensor.dtype === "f32" && v.tensor.shape.length > 2)) {
    assert.equal(s.tensor.op, "input", `${s.tensor.op} [${s.tensor.shape}]`);
  }
  const store = initParams(g.graph, 1, new Map(BACKBONE));
  assert.ok(store.get("conv1.da3.weight")!.every((v) => v === 0));
  assertLiveGradient(g, store, "conv1.da3.weight");
  assert.equal(
    params(graph(cifar("da3").logits)).filter((p) => sourceName(p) === "conv1.da3.weight").length,
    0,
  );
});
