/**
 * Writing an adaptor of your own: a multiplicative channel gate (squeeze-
 * and-excitation style) on every frozen conv→BN pair of ResNet-50, compared
 * with DA³'s additive attention. The gate looks as small as DA³'s, but
 * `mul` must keep the full BN output for the gate's gradient; da3 finds that
 * out from the graph and reports the exact bytes.
 *
 * deno run -A examples/custom_adaptor.ts
 * @module
 */
import { da3 } from "../lib/adapt/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { globalAvgPool, linear, mul, param, relu, reshape, sigmoid } from "../lib/graph/mod.ts";
import {
  type Adaptor,
  classificationLoss,
  convBnLayer,
  type ModelOptions,
  resnet50,
} from "../lib/models/mod.ts";
import { CPU_TARGET, megabytes, memorySummary, planGraph } from "../lib/plan/mod.ts";

/** `bn(conv(x)) ⊙ sigmoid(W₂·relu(W₁·gap(x)))` on each block pair; the backbone stays frozen. */
const channelGate: Adaptor = {
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

const setting = { classes: 100, batch: 8, size: 224 };
for (const adaptor of [channelGate, da3().adaptor]) {
  const options: ModelOptions = { adaptor, ...setting };
  const g = grad(classificationLoss(resnet50(options)));
  const plan = planGraph(g, CPU_TARGET, { optimizer: "adam" });
  const s = memorySummary(plan, { model: "resnet50", method: adaptor.name, ...setting });
  console.log(
    `${adaptor.name.padEnd(12)} saved activations ${g.savedBytes} B (${
      megabytes(g.savedBytes)
    } MB), ` +
      `training memory ${megabytes(s.totalBytes)} MB (Adam, ResNet-50, batch 8, 224²)`,
  );
}
