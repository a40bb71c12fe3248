/**
 * The backbone registry in training runs: MobileNetV2 trains a method and
 * fits the probe on an embedded domain with finite results and checkpoints
 * that record the backbone, its input side and cut; a resume on another
 * backbone or input side is refused; its default u8 frozen storage keeps
 * the source's bytes; bad `--backbone`, `--size` and `--cut` name the flag.
 */
import assert from "node:assert/strict";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";
import { dequantizeAffine } from "../lib/io/affine_u8.ts";
import { CheckpointError, loadCheckpoint } from "../lib/io/checkpoint.ts";
import { dequantize, quantizeU8 } from "../lib/runtime/quantized.ts";
import { BACKBONES, MOBILENET_V2_URL, selectBackbone } from "../lib/train/backbones.ts";
import { parseTrainConfig } from "../lib/train/config.ts";
import { ResumeError } from "../lib/train/resume.ts";
import { runTraining } from "../lib/train/run.ts";
import { trainConfigFromArgs } from "../lib/train/args.ts";
import { UsageError } from "../lib/cli/flags.ts";

const config = (out: string, over: Record<string, unknown> = {}) =>
  parseTrainConfig({
    backbone: "mobilenetv2",
    size: 32,
    backend: "cpu",
    out,
    epochs: 1,
    limit: 10,
    batch: 5,
    validation: 10,
    method: ["da3", "probe"],
    domains: ["sklearn-digits"],
    ...over,
  });

Deno.test("mobilenetv2: a method and the probe train on an embedded domain; checkpoints record the backbone; resume on another is refused", async () => {
  const out = await Deno.makeTempDir();
  const results = await runTraining(config(out), () => {});
  assert.equal(results.runs.length, 2);
  for (const r of results.runs) {
    for (const v of [r.top1, r.valTop1!, r.trainingBytes, r.msPerStep]) {
      assert.ok(Number.isFinite(v), `${r.method}: ${v}`);
    }
    assert.ok(r.top1 >= 0 && r.top1 <= 1);
  }
  const bb = await BACKBONES.mobilenetv2.load();
  assert.equal(results.backbone, bb.hash);
  const record = { name: "mobilenetv2", size: 32, cut: "block_10" };
  const data = {
    origin: "embedded",
    validation: 10,
    validationSeed: 0,
    limit: 10,
    testLimit: null,
  };
  const ck = await loadCheckpoint(`${out}/da3-sklearn-digits.safetensors`, bb.hash);
  const run = ck.meta.run as Record<string, unknown>;
  assert.deepEqual(run.config, { backbone: record, data });
  assert.equal(run.model, "mobilenetv2-block_10");
  assert.deepEqual(run.input, [5, 3, 32, 32]);
  assert.equal(run.frozenWeights, "u8");
  assert.equal(run.frozenScales, "tensor");
  const probe = await loadCheckpoint(`${out}/probe-sklearn-digits.safetensors`, bb.hash);
  assert.deepEqual((probe.meta.run as Record<string, unknown>).config, { backbone: record, data });

  const resume = { method: ["da3"], epochs: 2, resume: true };
  await assert.rejects(
    () => runTraining(config(out, { ...resume, size: 48 }), () => {}),
    (e: unknown) =>
      e instanceof ResumeError && e.differences.some((d) => d.field === "config.backbone.size"),
  );
  await assert.rejects(
    () => runTraining(config(out, { ...resume, backbone: "resnet20-mnist", size: 32 }), () => {}),
    (e: unknown) => e instanceof CheckpointError && /backbone/.test(e.message),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("mobilenetv2's default u8 storage (one scale per tensor) keeps every source byte", async () => {
  assert.equal(selectBackbone({ backbone: "mobilenetv2" }).frozenWeights, "u8");
  assert.equal(selectBackbone({ backbone: "resnet20-mnist" }).frozenWeights, "f32");
  const { tensors } = await readSafetensorsFile(MOBILENET_V2_URL);
  const values = dequantizeAffine(tensors);
  let weights = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== "U8" || t.shape.length < 2) continue;
    weights++;
    const q = quantizeU8(values.get(name)!, t.shape, BACKBONES.mobilenetv2.frozenScales);
    assert.deepEqual(q.q, t.data, name);
    const back = dequantize(q), v = values.get(name)!;
    const [, scale] = tensors.get(`${name}.affine`)!.data as Float64Array;
    // The same lattice; min and scale held as f32 move a value by far less than a step.
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) < 1e-3 * scale, name);
  }
  assert.equal(weights, 52, "every conv weight of MobileNetV2 is u8 in the source");
});

/** Each row: flags, and what the error must name. */
const bad: [string[], string[]][] = [
  [["--backbone", "vgg"], ["--backbone", "resnet20-mnist", "mobilenetv2", 'got "vgg"']],
  [["--backbone", "mobilenetv2", "--size", "40"], ["--size", "40", "multiple of 16"]],
  [["--backbone", "mobilenetv2", "--size", "48", "--cut", "Conv_1"], ["--size", "48", "32"]],
  [["--backbone", "mobilenetv2", "--cut", "Conv_1", "--size", "x"], ["--size must be a number"]],
  [["--backbone", "mobilenetv2", "--cut", "block_99"], ["--cut", "block_10", "Conv_1"]],
  [["--backbone", "resnet20-mnist", "--cut", "block_13"], ["--cut", "resnet20-mnist", "block_13"]],
  [["--size", "4"], ["--size must be ≥ 8"]],
];

for (const [flags, names] of bad) {
  Deno.test(`invalid backbone flags ${flags.join(" ")} name the flag`, async () => {
    await assert.rejects(() => trainConfigFromArgs(flags), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      for (const n of names) assert.ok(e.message.includes(n), `"${e.message}" lacks ${n}`);
      return true;
    });
  });
}

Deno.test("the default backbone is mobilenetv2; each fills its defaults where flags are unset", async () => {
  const c = await trainConfigFromArgs([]);
  assert.ok(c !== "help");
  const { backbone, size, cut, frozenWeights, epochs, lr, headInit, bnStats } = c;
  assert.deepEqual(
    { backbone, size, cut, frozenWeights, epochs, lr, headInit, bnStats },
    {
      backbone: "mobilenetv2",
      size: 32,
      cut: "block_10",
      frozenWeights: "u8",
      epochs: 6,
      lr: 1e-3,
      headInit: "probe",
      bnStats: "domain",
    },
  );
  const f = await trainConfigFromArgs(["--frozen-weights", "f32", "--epochs", "1", "--size", "64"]);
  assert.ok(f !== "help" && f.frozenWeights === "f32" && f.epochs === 1 && f.size === 64);
  const p = await trainConfigFromArgs(["--method", "probe"]);
  assert.ok(p !== "help" && p.headInit === "normal", "the probe alone has no head to start");
  assert.equal(p.bnStats, "source", "the probe alone keeps the source statistics");
  const s = await trainConfigFromArgs(["--bn-stats", "source"]);
  assert.ok(s !== "help" && s.bnStats === "source", "the flag wins over the default");
  const r = await trainConfigFromArgs(["--backbone", "resnet20-mnist"]);
  assert.ok(r !== "help");
  assert.ok(!("cut" in r));
  assert.deepEqual(
    [r.size, r.frozenWeights, r.epochs, r.lr, r.headInit, r.limit, r.bnStats],
    [32, "f32", 2, 1e-3, "normal", undefined, "source"],
  );
});
