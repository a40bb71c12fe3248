/**
 * The memory principle, pinned: what backward keeps for frozen and trainable
 * parts of a graph.
 */
import assert from "node:assert/strict";
import {
  add,
  batchNorm,
  conv2d,
  globalAvgPool,
  grad,
  input,
  linear,
  mean,
  mul,
  param,
  relu,
  reshape,
  sigmoid,
  type Tensor,
} from "../mod.ts";
import { byteSize } from "../lib/graph/mod.ts";

const frozen = { trainable: false } as const;

function bnParams(name: string, c: number, trainable = false) {
  return {
    gamma: param(`${name}.gamma`, [c], { trainable, init: "ones" }),
    beta: param(`${name}.beta`, [c], { trainable, init: "zeros" }),
    mean: param(`${name}.mean`, [c], frozen),
    variance: param(`${name}.var`, [c], { ...frozen, init: "ones" }),
  };
}

/** A chain of conv→BN→ReLU blocks after a trainable bias; `trainableConv` picks one conv. */
function chain(trainableConv = -1): { loss: Tensor; convInputs: Tensor[] } {
  const x = input("x", [2, 8, 16, 16]);
  let h = add(x, param("bias", [1, 8, 1, 1]));
  const convInputs: Tensor[] = [];
  for (let i = 0; i < 4; i++) {
    convInputs.push(h);
    const w = param(`conv${i}`, [8, 8, 3, 3], { trainable: i === trainableConv });
    h = relu(batchNorm(conv2d(h, w, { padding: 1 }), bnParams(`bn${i}`, 8)));
  }
  return { loss: mean(h), convInputs };
}

const ops = (saved: ReturnType<typeof grad>["saved"]) => saved.map((s) => s.tensor.op);

Deno.test("a frozen conv→BN→ReLU chain saves only 1-bit ReLU masks", () => {
  const g = grad(chain().loss);
  assert.deepEqual(ops(g.saved), ["reluMask", "reluMask", "reluMask", "reluMask"]);
  const maskBytes = byteSize([2, 8, 16, 16], "mask");
  assert.deepEqual(maskBytes, (2 * 8 * 16 * 16) / 8);
  assert.deepEqual(g.savedBytes, 4 * maskBytes);
  assert.deepEqual([...g.grads.keys()].map((p) => p.attrs.name), ["bias"]);
});

Deno.test("making one conv trainable adds exactly its input to the saved set", () => {
  const base = grad(chain().loss);
  const { loss, convInputs } = chain(2);
  const g = grad(loss);
  const extra = g.saved.filter((s) => s.tensor.op !== "reluMask");
  assert.deepEqual(extra.map((s) => s.tensor), [convInputs[2]]);
  assert.deepEqual(g.savedBytes - base.savedBytes, byteSize(convInputs[2].shape, "f32"));
  assert.deepEqual(extra[0].readBy, ["conv2dGradWeight"]);
});

Deno.test("x ⊙ sigmoid(f(x)) saves x and the sigmoid output", () => {
  const x = relu(conv2d(input("img", [2, 3, 8, 8]), param("stem", [4, 3, 1, 1])));
  const s = sigmoid(conv2d(x, param("f", [4, 4, 1, 1]), {}));
  const g = grad(mean(mul(x, s)));
  const kept = g.saved.map((v) => v.tensor);
  const f32 = g.saved.filter((v) => v.tensor.dtype === "f32").map((v) => v.tensor);
  assert.deepEqual(new Set(f32), new Set([x, s, x.inputs[0].inputs[0]]));
  assert.deepEqual(kept.includes(s), true);
  assert.deepEqual(kept.includes(x), true);
  // The stem's ReLU keeps a mask, the stem conv its (input) image: nothing else.
  assert.deepEqual(kept.length, 4);
});

Deno.test("conv(x) + g(globalAvgPool(x)) with a frozen conv saves only g's small values", () => {
  const [n, c, hw] = [4, 16, 32];
  const x = input("x", [n, c, hw, hw]);
  const y = conv2d(x, param("w", [c, c, 3, 3], frozen), { padding: 1 });
  const p = globalAvgPool(x);
  const hidden = relu(linear(p, param("w1", [4, c]), param("b1", [4])));
  const a = reshape(linear(hidden, param("w2", [c, 4]), param("b2", [c])), [n, c, 1, 1]);
  const g = grad(mean(relu(add(y, a))));
  const kept = g.saved.filter((v) => v.tensor.dtype !== "mask");
  assert.deepEqual(new Set(kept.map((v) => v.tensor)), new Set([p, hidden]));
  const maskBytes = byteSize([n, c, hw, hw], "mask") + byteSize([n, 4], "mask");
  assert.deepEqual(g.savedBytes, 4 * n * c + 4 * n * 4 + maskBytes);
  // No full-size fp32 activation anywhere.
  for (const v of g.saved) assert.deepEqual(v.bytes < byteSize([n, c, hw, hw], "f32") / 16, true);
});

Deno.test("frozen parameters get no gradient and no backward work", () => {
  const x = input("x", [2, 4, 8, 8]);
  const w = param("w", [4, 4, 3, 3], frozen);
  const b = param("b", [1, 4, 1, 1]);
  const g = grad(mean(add(conv2d(x, w, { padding: 1 }), b)));
  assert.deepEqual([...g.grads.keys()], [b]);
  assert.deepEqual([...g.backward].some((n) => n.op.startsWith("conv2d")), false);
  assert.deepEqual(g.saved, []);
});

Deno.test("a trainable batch norm keeps its input; batch statistics keep it too", () => {
  const x = relu(conv2d(input("x", [2, 3, 8, 8]), param("w", [4, 3, 3, 3])));
  for (const mode of ["eval", "batch"] as const) {
    const bn = batchNorm(x, bnParams(`bn_${mode}`, 4, true), { mode });
    const g = grad(mean(bn));
    const f32 = g.saved.filter((v) => v.tensor.dtype === "f32").map((v) => v.tensor);
    assert.deepEqual(f32.includes(x), true, mode);
  }
});
