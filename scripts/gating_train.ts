/**
 * Trains what the gating measurements run on, on the CPU: a ResNet-20
 * backbone pre-trained on mnist (every weight, BN batch statistics, then
 * running statistics re-estimated) and DA³ adaptors (with new heads) on
 * target domains. Adaptors train on the training split without its
 * calibration tail. An optional L1 penalty on the gated activations
 * (`--sparsity λ`) trains adaptors that close more gates.
 *
 * deno run -A scripts/gating_train.ts -- backbone --steps 250 --out runs/gating
 * deno run -A scripts/gating_train.ts -- adapt --domain fashion --steps 250 --out runs/gating
 * @module
 */
import { parseArgs } from "node:util";
import { grad } from "../lib/autodiff/mod.ts";
import { da3, fineTune } from "../lib/adapt/mod.ts";
import { batches } from "../lib/data/batch.ts";
import { domainInfo } from "../lib/data/domains.ts";
import { add, graph, mean, scale, type Tensor, topoSort } from "../lib/graph/mod.ts";
import { writeSafetensorsFileAtomic } from "../lib/io/safetensors.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { initParams } from "../lib/runtime/params.ts";
import { bnProbe, setRunningStats } from "../lib/train/bn_stats.ts";
import { hashParams, saveCheckpoint } from "../lib/train/checkpoint.ts";
import { initOptimizer } from "../lib/train/optimizer.ts";
import { trainStep } from "../lib/train/step.ts";
import { loadBackbone } from "../lib/gating/weights.ts";
import { loadGatingData } from "../lib/gating/data.ts";

const args = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
  allowPositionals: true,
  options: {
    domain: { type: "string", default: "fashion" },
    steps: { type: "string", default: "250" },
    batch: { type: "string", default: "16" },
    lr: { type: "string", default: "0.001" },
    sparsity: { type: "string", default: "0" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "runs/gating" },
  },
});
const [command] = args.positionals;
const v = args.values;
const steps = Number(v.steps), batch = Number(v.batch), lr = Number(v.lr), seed = Number(v.seed);

/** Sum of the means of the activations that follow an attention add (the gated values). */
function gatedActivationPenalty(logits: Tensor): Tensor | null {
  const gated = topoSort([logits]).filter((n) =>
    n.op === "relu" && n.inputs[0].op === "add" && n.inputs[0].inputs[0].op === "batchNorm"
  );
  if (gated.length === 0) return null;
  return gated.map((r) => mean(r)).reduce((s, m) => add(s, m));
}

async function train(
  domain: string,
  lossOf: (b: number) => { loss: Tensor; logits: Tensor },
  params: ParamStore,
): Promise<ParamStore> {
  const data = await loadGatingData(domain);
  const g = grad(lossOf(batch).loss);
  initParams(g.graph, seed, params);
  let state = initOptimizer({ kind: "adam" });
  let step = 0, epoch = 0, avg = 0;
  const t0 = performance.now();
  while (step < steps) {
    const it = batches(data.fit, {
      batchSize: batch,
      seed,
      epoch: epoch++,
      dropLast: true,
      stats: data.stats,
      augment: domainInfo(domain).augment,
    });
    for (const b of it) {
      if (step >= steps) break;
      const r = trainStep(g, params, { x: b.x, labels: b.y }, state, lr);
      for (const [k, w] of r.params) params.set(k, w);
      state = r.state;
      avg = step === 0 ? r.loss : 0.95 * avg + 0.05 * r.loss;
      if (++step % 25 === 0) {
        const s = ((performance.now() - t0) / 1000).toFixed(0);
        console.log(`${domain} step ${step}/${steps} loss ${avg.toFixed(3)} (${s} s)`);
      }
    }
  }
  return params;
}

if (command === "backbone") {
  const lossOf = (b: number) => {
    const m = resnet20({ adaptor: fineTune().adaptor, classes: 10, batch: b });
    return { loss: classificationLoss(m), logits: m.logits };
  };
  const params = await train("mnist", lossOf, new Map());
  // Running statistics for eval mode, from training batches without augmentation.
  const m = resnet20({ adaptor: fineTune().adaptor, classes: 10, batch: 32 });
  const probe = bnProbe([m.logits]);
  const data = await loadGatingData("mnist");
  const outs = [];
  for (
    const b of batches(data.fit, { batchSize: 32, seed: 1, dropLast: true, stats: data.stats })
  ) {
    outs.push(executeCpu(probe.probe, { inputs: { x: b.x }, params }));
    if (outs.length === 16) break;
  }
  setRunningStats(probe, outs, params);
  const shapes = new Map(
    graph(m.logits).nodes.filter((n) => n.op === "param").map((n) => [
      String(n.attrs.name),
      n.shape,
    ]),
  );
  const tensors = new Map(
    [...params].filter(([k]) => !k.startsWith("fc.")).map((
      [k, w],
    ) => [k, { dtype: "F32" as const, shape: [...shapes.get(k)!], data: w }]),
  );
  await Deno.mkdir(v.out!, { recursive: true });
  await writeSafetensorsFileAtomic(`${v.out}/backbone.safetensors`, tensors, {
    format: "da3-backbone-1",
    model: "resnet20",
    domain: "mnist",
  });
  console.log(`wrote ${v.out}/backbone.safetensors`);
} else if (command === "adapt") {
  const domain = v.domain!;
  const backbone = await loadBackbone(`${v.out}/backbone.safetensors`);
  const lambda = Number(v.sparsity);
  const lossOf = (b: number) => {
    const m = resnet20({ adaptor: da3().adaptor, classes: 10, batch: b });
    const ce = classificationLoss(m);
    const penalty = lambda > 0 ? gatedActivationPenalty(m.logits) : null;
    return { loss: penalty ? add(ce, scale(penalty, lambda)) : ce, logits: m.logits };
  };
  const params = await train(domain, lossOf, new Map(backbone));
  const m = resnet20({ adaptor: da3().adaptor, classes: 10, batch: 1 });
  const own = new Map(
    graph(m.logits).nodes.filter((n) => n.op === "param" && n.attrs.trainable === true).map((
      n,
    ) => [String(n.attrs.name), params.get(String(n.attrs.name))!]),
  );
  const suffix = lambda > 0 ? `-s${lambda}` : "";
  const path = `${v.out}/da3-${domain}${suffix}.safetensors`;
  await saveCheckpoint(path, {
    method: "da3",
    domain,
    backbone: await hashParams(backbone),
    epoch: 0,
  }, own);
  console.log(`wrote ${path}`);
} else {
  console.error("usage: gating_train.ts backbone|adapt [--domain d] [--steps n] [--sparsity λ]");
  Deno.exit(2);
}
