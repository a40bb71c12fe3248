/**
 * Training an adaptor of your own: the squeeze-and-excitation style channel
 * gate of `examples/custom_adaptor.ts`, on every block pair of the committed
 * frozen ResNet-20, trained on the embedded scikit-learn digits domain.
 * Prints its test accuracy and its exact training memory from the plan.
 *
 * deno run -A examples/train_custom_adaptor.ts [training examples = 500] [epochs = 2] [test images = all]
 * @module
 */
import {
  type Adaptor,
  convBnLayer,
  type Dataset,
  globalAvgPool,
  linear,
  loadBackbone,
  loadEmbedded,
  mul,
  param,
  relu,
  reshape,
  resnet20,
  sigmoid,
  train,
} from "../mod.ts";

/** `bn(conv(x)) ⊙ sigmoid(W₂·relu(W₁·gap(x)))` on each block pair; the backbone stays frozen. */
export const channelGate: Adaptor = {
  name: "channel-gate",
  convBn: (x, pair) => {
    const y = convBnLayer(x, pair); // frozen conv, frozen BN with running statistics
    if (pair.role !== "main") return y;
    const [n, cin] = x.shape, hidden = Math.max(1, cin >> 4), cout = pair.outChannels;
    const w1 = param(`${pair.conv}.gate.fc1.weight`, [hidden, cin]);
    const w2 = param(`${pair.conv}.gate.fc2.weight`, [cout, hidden], { init: "zeros" });
    const h = relu(linear(globalAvgPool(x), w1));
    return mul(y, reshape(sigmoid(linear(h, w2)), [n, cout, 1, 1]));
  },
};

/** The first `n` examples of `ds`. */
function first(ds: Dataset, n: number): Dataset {
  const size = ds.shape.reduce((a, d) => a * d, 1);
  return { ...ds, images: ds.images.subarray(0, n * size), labels: ds.labels.subarray(0, n) };
}

if (import.meta.main) {
  const [examples = 500, epochs = 2, tests = Infinity] = Deno.args.map(Number);
  const domain = "sklearn-digits";
  const split = await loadEmbedded(domain);
  const test = first(split.test, Math.min(tests, split.test.labels.length));
  const backbone = await loadBackbone();
  const r = await train({
    model: (adaptor, { batch, classes }) => resnet20({ adaptor, batch, classes, size: 32 }),
    method: channelGate,
    data: { domain, train: first(split.train, examples), test },
    backbone: backbone.params,
    backboneHash: backbone.hash,
    epochs,
    batch: 32,
    lr: 1e-3,
    progress: () => {},
  });
  console.log(
    `${channelGate.name} on ${domain}: top-1 ${
      (100 * r.top1).toFixed(1)
    }% on ${test.labels.length} ` +
      `test images, ${r.paramsPerDomain} parameters per domain, training memory ${r.trainingBytes} B ` +
      `(${(r.trainingBytes / 1e6).toFixed(1)} MB, Adam, batch 32)`,
  );
}
