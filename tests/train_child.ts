/**
 * A short resumable training run for the crash test: DA³ on the committed
 * backbone, 8 embedded scikit-learn digits, 2 epochs of 2 steps on the CPU,
 * writing its checkpoints to the folder given as the only argument and
 * resuming from them when they are there.
 * @module
 */
import {
  cpuRuntime,
  da3,
  type Dataset,
  loadBackbone,
  loadEmbedded,
  resnet20,
  train,
} from "../mod.ts";

function first(ds: Dataset, n: number): Dataset {
  return {
    ...ds,
    images: ds.images.subarray(0, n * 3 * 32 * 32),
    labels: ds.labels.subarray(0, n),
  };
}

const split = await loadEmbedded("sklearn-digits");
const backbone = await loadBackbone();
await train({
  model: (adaptor, { batch, classes }) => resnet20({ adaptor, batch, classes, size: 32 }),
  method: da3(),
  data: { domain: "sklearn-digits", train: first(split.train, 8), test: first(split.test, 8) },
  runtime: cpuRuntime,
  backbone: backbone.params,
  backboneHash: backbone.hash,
  epochs: 2,
  batch: 4,
  lr: 1e-2,
  out: Deno.args[0],
  resume: true,
  progress: () => {},
});
