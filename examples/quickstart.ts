// A frozen conv→BN→ReLU block plus a trainable additive attention term (DA³ style).
import * as da3 from "../mod.ts";

const frozen = (init: da3.Init = "he") => ({ trainable: false, init });
const x = da3.input("x", [8, 16, 32, 32]);
const conv = da3.conv2d(x, da3.param("conv.w", [16, 16, 3, 3], frozen()), { padding: 1 });
const bn = da3.batchNorm(conv, {
  gamma: da3.param("bn.gamma", [16], frozen("ones")),
  beta: da3.param("bn.beta", [16], frozen("zeros")),
  mean: da3.param("bn.mean", [16], frozen("zeros")),
  variance: da3.param("bn.var", [16], frozen("ones")),
});
const a = da3.linear(da3.globalAvgPool(x), da3.param("att.w", [16, 16]), da3.param("att.b", [16]));
const loss = da3.mean(da3.relu(da3.add(bn, da3.reshape(a, [8, 16, 1, 1]))));

const { saved, savedBytes } = da3.grad(loss);
for (const s of saved) {
  console.log(`${s.tensor.op} ${s.tensor.dtype}[${s.tensor.shape}]: ${s.bytes} B`);
}
console.log(`backward keeps ${savedBytes} B; the activation x alone is ${4 * 8 * 16 * 32 * 32} B`);
