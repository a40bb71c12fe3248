/** Training configuration: flags, config files, zod validation, result renderings. */
import assert from "node:assert/strict";
import { parseTrainConfig } from "../lib/train/config.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { trainConfigFromArgs } from "../lib/train/args.ts";
import { type Results, resultsPlot, resultsTable, standardError } from "../lib/train/results.ts";
import { formatProgress } from "../lib/train/progress.ts";
import { testSubset } from "../lib/train/run.ts";
import type { Dataset } from "../lib/data/mod.ts";

Deno.test("flags parse with or without a literal -- and fill defaults", async () => {
  const a = await trainConfigFromArgs(["--", "--method", "da3,finetune", "--epochs", "3"]);
  const b = await trainConfigFromArgs(["--method", "da3,finetune", "--epochs", "3"]);
  assert.deepEqual(a, b);
  assert.ok(a !== "help");
  assert.deepEqual(a.method, ["da3", "finetune"]);
  assert.equal(a.epochs, 3);
  assert.equal(a.optimizer, "adam");
  assert.equal(a.backend, "auto");
  const all = await trainConfigFromArgs(["--method", "all", "--budget-mb", "512"]);
  assert.ok(all !== "help" && all.method.length === 9 && all.budgetMb === 512);
  assert.ok(all.method.includes("probe"), "--method all includes the linear probe");
  assert.equal(a.validation, 0.2, "a fifth of the training data is held out by default");
  assert.ok(a.schedule === "constant" && a.warmup === 0, "constant rate, no warm-up by default");
  const s = await trainConfigFromArgs(["--schedule", "cosine", "--warmup", "12"]);
  assert.ok(s !== "help" && s.schedule === "cosine" && s.warmup === 12);
  const v = await trainConfigFromArgs(["--validation", "150", "--validation-seed", "4"]);
  assert.ok(v !== "help" && v.validation === 150 && v.validationSeed === 4);
  assert.equal(a.augment, "domain", "the domain's own augmentation by default");
  const n = await trainConfigFromArgs(["--augment", "none"]);
  assert.ok(n !== "help" && n.augment === "none");
});

/** Each row: flags, and what the error must name. */
const bad: [string[], string[]][] = [
  [["--method", "lora"], ["--method", 'got "lora"', "da3", "finetune"]],
  [["--optimizer", "rmsprop"], ["--optimizer", "sgd", "adam"]],
  [["--backend", "cuda"], ["--backend", "webgpu", "cpu"]],
  [["--epochs", "0"], ["--epochs must be ≥ 1"]],
  [["--epochs", "two"], ["--epochs must be a number", 'got "two"']],
  [["--batch", "1.5"], ["--batch must be an integer"]],
  [["--lr", "-1"], ["--lr must be > 0", 'got "-1"']],
  [["--budget-mb", "0"], ["--budget-mb must be > 0"]],
  [["--frobnicate"], ["unknown flag --frobnicate", "--epochs", "--da3-stem"]],
  [["--da3-placement", "nowhere"], ["--da3-placement", "every", "last"]],
  [["--da3-source", "head"], ["--da3-source", "pair", "block"]],
  [["--da3-reduction", "0"], ["--da3-reduction"]],
  [["--da3-grid", "1.5"], ["--da3-grid must be an integer"]],
  [["--da3-stages", "0"], ["--da3-stages must be ≥ 1"]],
  [["--da3-lr-scale", "0"], ["--da3-lr-scale"]],
  [["--epochs", "-1"], ["--epochs must be ≥ 1", 'got "-1"']],
  [["--", "--epochs", "-2"], ["--epochs must be ≥ 1"]],
  [["--epochs"], ["--epochs needs a value"]],
  [["--out", "--resume"], ["--out needs a value"]],
  [["--method", "finetune", "--da3-reduction", "4"], ["--da3-reduction", "--method da3"]],
  [["--validation", "1.5"], ["--validation", "a fraction in [0, 1) or a whole count"]],
  [["--validation", "-0.1"], ["--validation must be ≥ 0"]],
  [["--validation-seed", "-1"], ["--validation-seed must be ≥ 0"]],
  [["--head-init", "random"], ["--head-init", "normal", "zeros", "probe"]],
  [["--weight-decay", "-1"], ["--weight-decay must be ≥ 0"]],
  [["--method", "probe", "--head-init", "probe"], ["--head-init", "--method probe"]],
  [["--test-limit", "0"], ["--test-limit must be ≥ 1"]],
  [["--schedule", "step"], ["--schedule", 'got "step"', "constant", "cosine"]],
  [["--warmup", "-1"], ["--warmup must be ≥ 0"]],
  [["--augment", "flip"], ["--augment", 'got "flip"', "domain", "none"]],
  [["--warmup", "0.1"], ["--warmup must be an integer"]],
];

for (const [flags, names] of bad) {
  Deno.test(`invalid flags ${flags.join(" ")} name the field`, async () => {
    await assert.rejects(() => trainConfigFromArgs(flags), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      for (const n of names) assert.ok(e.message.includes(n), `"${e.message}" lacks ${n}`);
      return true;
    });
  });
}

Deno.test("DA³ options come from --da3-* flags, merged over a config file's", async () => {
  const c = await trainConfigFromArgs([
    "--",
    "--da3-reduction",
    "4",
    "--da3-spatial",
    "--da3-grid",
    "2",
    "--da3-stages",
    "2,3",
    "--da3-stem",
  ]);
  assert.ok(c !== "help");
  assert.deepEqual(c.da3, { reduction: 4, spatial: true, grid: 2, stages: [2, 3], stem: true });
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ da3: { source: "block", reduction: 2 } }));
  const f = await trainConfigFromArgs(["--config", path, "--da3-reduction", "8"]);
  assert.ok(f !== "help");
  assert.deepEqual(f.da3, { reduction: 8, source: "block" });
  const none = await trainConfigFromArgs([]);
  assert.ok(none !== "help");
  assert.deepEqual(none.da3, {});
  await Deno.remove(path);
});

Deno.test("a config file is validated and flags override it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ epochs: 5, lr: 0.01, batch: 16 }));
  const c = await trainConfigFromArgs(["--config", path, "--batch", "8"]);
  assert.ok(c !== "help" && c.epochs === 5 && c.lr === 0.01 && c.batch === 8);
  await Deno.writeTextFile(path, JSON.stringify({ epochs: 5, colour: "red" }));
  await assert.rejects(
    () => trainConfigFromArgs(["--config", path]),
    /has unknown field\(s\) colour/,
  );
  await Deno.writeTextFile(path, JSON.stringify({ da3: { stem: "yes" } }));
  await assert.rejects(
    () => trainConfigFromArgs(["--config", path]),
    /da3\.stem \(in .*\.json\) must be a boolean/,
  );
  await assert.rejects(
    () => trainConfigFromArgs(["--config", path + ".missing"]),
    /\.missing: config file: no such file/,
  );
  await Deno.writeTextFile(path, "{ epochs: 3");
  await assert.rejects(() => trainConfigFromArgs(["--config", path]), /config file is not JSON/);
  assert.throws(() => parseTrainConfig({ method: "da3" }), /method/);
  await Deno.remove(path);
});

const results: Results = {
  backbone: "abc",
  runs: [
    {
      method: "finetune",
      domain: "a",
      top1: 0.9,
      paramsPerDomain: 272_474,
      trainingBytes: 80e6,
      msPerStep: 200,
      flopsPerStep: 3.3e9,
    },
    {
      method: "finetune",
      domain: "b",
      top1: 0.7,
      paramsPerDomain: 272_474,
      trainingBytes: 80e6,
      msPerStep: 220,
      flopsPerStep: 3.3e9,
    },
    {
      method: "da3",
      domain: "a",
      top1: 0.85,
      paramsPerDomain: 5_000,
      trainingBytes: 8e6,
      msPerStep: 90,
      flopsPerStep: 2.1e9,
    },
    {
      method: "da3",
      domain: "b",
      top1: 0.75,
      paramsPerDomain: 5_000,
      trainingBytes: 8e6,
      msPerStep: 110,
      flopsPerStep: 2.1e9,
    },
  ],
};

Deno.test("results render as a Markdown table with per-method means", () => {
  const t = resultsTable(results).split("\n");
  assert.equal(t.length, 4);
  assert.ok(t[0].includes("| a | b |"));
  assert.ok(
    t[2].startsWith("| finetune | 90.0 | 70.0 | 80.0 ± 10.0 | 272,474 | 80.0 | 210 | 3.30 |"),
    t[2],
  );
  assert.ok(t[3].startsWith("| da3 | 85.0 | 75.0 | 80.0 ± 5.0 | 5,000 | 8.0 | 100 | 2.10 |"), t[3]);
});

Deno.test("the standard error of a mean is the sample deviation over √n", () => {
  assert.equal(standardError([0.5]), 0);
  assert.ok(Math.abs(standardError([0.9, 0.7]) - 0.1) < 1e-12);
  assert.ok(Math.abs(standardError([1, 2, 3, 4]) - Math.sqrt(5 / 12)) < 1e-12);
});

Deno.test("the plot has one labelled point per method", () => {
  const svg = resultsPlot(results);
  assert.equal(svg.match(/<circle/g)?.length, 2);
  assert.ok(svg.includes(">da3<") && svg.includes(">finetune<"));
  assert.ok(svg.startsWith("<svg") && svg.endsWith("</svg>"));
});

Deno.test("progress shows step, loss, accuracy, rate, ETA and arena MB", () => {
  const line = formatProgress({
    label: "da3/a",
    step: 5,
    steps: 10,
    loss: 0.5,
    accuracy: 0.8,
    elapsed: 2.5,
    arenaBytes: 1.5e6,
  }, 10);
  assert.equal(
    line,
    "da3/a [#####-----] 5/10 loss 0.500 acc 80.0% 2.0 steps/s ETA 3s arena 1.5 MB",
  );
});

Deno.test("--head-init probe with the probe among other methods sets the others' heads", async () => {
  const c = await trainConfigFromArgs(["--method", "probe,da3", "--head-init", "probe"]);
  assert.ok(c !== "help");
  assert.deepEqual(c.method, ["probe", "da3"]);
  assert.equal(c.headInit, "probe");
});

Deno.test("--test-limit keeps a class-balanced test subsample, the same for every run", () => {
  const labels = Uint8Array.from({ length: 100 }, (_, i) => i % 4);
  const test: Dataset = {
    name: "t",
    classes: ["a", "b", "c", "d"],
    images: Uint8Array.from({ length: 100 * 3 }, (_, i) => i % 251),
    labels,
    shape: [3, 1, 1],
    source: "synthetic",
  };
  const a = testSubset(test, 40), b = testSubset(test, 40);
  assert.equal(a.labels.length, 40);
  assert.deepEqual([0, 1, 2, 3].map((k) => a.labels.filter((l) => l === k).length), [
    10,
    10,
    10,
    10,
  ]);
  assert.deepEqual(a.images, b.images);
  assert.equal(testSubset(test, undefined), test);
  assert.equal(testSubset(test, 1000), test);
});

Deno.test("--augment none reaches the training spec as no augmentation; unset keeps the domain's", async () => {
  const { domainSpec } = await import("../lib/train/domain.ts");
  const { NO_AUGMENT } = await import("../lib/data/mod.ts");
  const job = {
    method: "da3" as const,
    domain: "fashion",
    train: {} as never,
    test: {} as never,
    backbone: new Map(),
    backboneHash: "h",
    runtime: {} as never,
    epochs: 1,
    batch: 2,
    lr: 1e-3,
    optimizer: "adam" as const,
    seed: 0,
    out: "o",
    resume: false,
  };
  assert.deepEqual(domainSpec({ ...job, augment: NO_AUGMENT }).augment, NO_AUGMENT);
  assert.equal(domainSpec(job).augment, undefined, "undefined: the registered domain's own");
});
