/**
 * The training-memory CLI (`deno task memory`): flags with and without a
 * literal `--`, the JSON contract, the consistency of its figures, errors
 * naming the flag and its allowed values, and the pure rendering functions.
 */
import assert from "node:assert/strict";
import {
  count,
  formatTable,
  memoryJson,
  type MemoryRow,
  memoryTable,
  METHOD_NAMES,
  parseMemoryArgs,
  tableTitle,
  times,
} from "../scripts/memory.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { MEMORY_SUMMARY_FIELDS } from "./memory_fields.ts";

const ROOT = new URL("../", import.meta.url);
const CLI = new URL("../scripts/memory.ts", import.meta.url).pathname;

/** Runs the CLI in a subprocess; returns its exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
}

function assertConsistent(row: Record<string, unknown>, method: string): void {
  for (const f of MEMORY_SUMMARY_FIELDS) assert.ok(f in row, `${method}: field ${f} missing`);
  const n = (f: string) => row[f] as number;
  assert.equal(row.method, method);
  assert.equal(
    n("totalBytes"),
    n("weightBytes") + n("gradientBytes") + n("optimizerBytes") + n("arenaBytes"),
  );
  assert.ok(n("arenaBytes") >= n("lowerBoundBytes"), `${method}: arena below its lower bound`);
  // The optimizer runs in the plan: gradients live in the arena, its state is persistent.
  assert.ok(n("weightBytes") > 0 && n("gradientBytes") === 0 && n("optimizerBytes") > 0);
  assert.equal(n("weightBytes"), n("frozenBytes") + n("trainableWeightBytes"));
  assert.equal(n("optimizerBytes"), 2 * n("trainableWeightBytes"), "Adam: two fp32 moments");
}

Deno.test("CLI --json, one method: the same object with or without a leading --", async () => {
  const flags = ["--json", "--model", "resnet20", "--method", "da3"];
  const plain = await cli(...flags);
  const dashed = await cli("--", ...flags);
  assert.equal(plain.code, 0, plain.err);
  assert.equal(dashed.code, 0, dashed.err);
  assert.equal(dashed.out, plain.out);
  const row = JSON.parse(plain.out);
  assert.deepEqual(
    [row.model, row.batch, row.size],
    ["resnet20", 8, 32],
  );
  assertConsistent(row, "da3");
  assert.equal(row.optimizerBytes, 2 * 4 * row.trainableParams, "Adam keeps two moments");
  assert.ok(row.trainableParams > 0 && row.perDomainBytes === 4 * row.trainableParams);
});

Deno.test("CLI --json --method all lists the 8 methods; JSON without --method does too", async () => {
  const all = await cli("--json", "--model", "resnet20", "--method", "all", "--size", "16");
  assert.equal(all.code, 0, all.err);
  const j = JSON.parse(all.out);
  assert.deepEqual([j.model, j.batch, j.size], ["resnet20", 8, 16]);
  assert.deepEqual(j.methods.map((m: MemoryRow) => m.method), [
    "finetune",
    "lastlayer",
    "bnhead",
    "piggyback",
    "parallel",
    "series",
    "tinytl",
    "da3",
  ]);
  for (const m of j.methods) assertConsistent(m, m.method);
  const byName = (name: string) => j.methods.find((m: MemoryRow) => m.method === name);
  assert.ok(byName("da3").totalBytes < byName("finetune").totalBytes);
  const implicit = await cli("--", "--json", "--model", "resnet20", "--size", "16");
  assert.equal(implicit.out, all.out);
});

Deno.test("CLI: a bad --method or --model exits non-zero naming the flag and allowed values", async () => {
  const method = await cli("--model", "resnet20", "--method", "lora");
  assert.equal(method.code, 2);
  assert.match(method.err, /--method/);
  assert.match(method.err, /"lora"/);
  for (const name of [...METHOD_NAMES, "all"]) assert.ok(method.err.includes(name), name);
  const model = await cli("--", "--model", "vgg16");
  assert.equal(model.code, 2);
  assert.match(
    model.err,
    /--model must be one of mobilenetv2, resnet18, resnet20, resnet50, resnet56; got "vgg16"/,
  );
  assert.equal(model.out, "");
});

Deno.test("CLI table: title, one row per method, fine-tuning's ratio is 1", async () => {
  const r = await cli("--model", "resnet20", "--batch", "2", "--optimizer", "sgd");
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  assert.match(lines[0], /^resnet20, batch 2, 32×32, 100 classes, optimizer sgd, fp32/);
  assert.match(lines[1], /^method\s+trainable\s+per-domain MB\s+saved MB\s+arena MB/);
  assert.equal(lines.length, 2 + METHOD_NAMES.length);
  assert.match(lines[2], /^finetune .* 1\.00×\s+1\.00×\s+\d+\.\d\d\s+1\.00×\s+\d+\.\d\d$/);
});

Deno.test("parseMemoryArgs: defaults, a leading --, typed errors", () => {
  const d = parseMemoryArgs([]);
  assert.deepEqual(
    [d.model, d.batch, d.size, d.classes, d.optimizer, d.json, d.single],
    ["resnet50", 8, undefined, 100, "adam", false, false],
  );
  assert.deepEqual(d.methods, METHOD_NAMES);
  const a = parseMemoryArgs(["--", "--json", "--method", "tinytl", "--batch", "2", "--size", "64"]);
  assert.deepEqual([a.json, a.single, a.methods, a.batch, a.size], [true, true, ["tinytl"], 2, 64]);
  assert.throws(() => parseMemoryArgs(["--batch", "0"]), /--batch must be ≥ 1; got "0"/);
  assert.throws(() => parseMemoryArgs(["--size", "1.5"]), /--size must be an integer/);
  assert.throws(
    () => parseMemoryArgs(["--optimizer", "rmsprop"]),
    /--optimizer must be one of adam, sgd, none/,
  );
  assert.throws(() => parseMemoryArgs(["--json", "--report"]), UsageError);
  assert.throws(() => parseMemoryArgs(["--bogus"]), /unknown flag --bogus \(known: --json, /);
});

Deno.test("memoryTable: one summary per method; fine-tuning saves >10× the head-only method", () => {
  const a = parseMemoryArgs([
    "--",
    "--json",
    "--model",
    "resnet20",
    "--batch",
    "2",
    "--size",
    "16",
  ]);
  const { rows, reference } = memoryTable(a);
  assert.deepEqual(rows.map((s) => s.method), METHOD_NAMES);
  assert.equal(reference, rows[0]);
  for (const s of rows) {
    assert.equal(s.totalBytes, s.weightBytes + s.gradientBytes + s.optimizerBytes + s.arenaBytes);
  }
  const fine = rows.find((s) => s.method === "finetune")!;
  const head = rows.find((s) => s.method === "lastlayer")!;
  assert.ok(fine.savedActivationBytes > 10 * head.savedActivationBytes);
  const single = memoryTable({ ...a, methods: ["da3"], single: true });
  assert.deepEqual(single.reference, fine, "fine-tuning is planned as the reference");
  assert.throws(() => parseMemoryArgs(["--model", "nope"]), UsageError);
});

const row = (method: string, total: number, saved: number): MemoryRow => ({
  model: "m",
  method,
  batch: 1,
  size: 4,
  arenaBytes: total / 2,
  lowerBoundBytes: total / 4,
  savedActivationBytes: saved,
  weightBytes: total / 4,
  gradientBytes: total / 8,
  optimizerBytes: total / 8,
  totalBytes: total,
  trainableParams: 1234567,
  perDomainBytes: 3_000_000,
  flopsPerStep: total * 10,
  tinyTLConventionBytes: saved + total / 8,
  frozenBytes: total / 5,
  trainableWeightBytes: total / 20,
  frozenStorage: method === "finetune" ? "-" : "u8",
});

Deno.test("formatTable, times, count, tableTitle and memoryJson are plain functions of their input", () => {
  const ft = row("finetune", 100e6, 40e6);
  const d = row("da3", 20e6, 1e6);
  const text = formatTable([ft, d], ft);
  const [head, a, b] = text.split("\n");
  assert.match(head, /^method\s+trainable\s+per-domain MB\s+saved MB\s+arena MB\s+bound MB/);
  assert.match(
    head,
    /total MB\s+ft\/total\s+ft\/saved\s+GFLOP\/step\s+ft\/FLOPs\s+TinyTL-conv MB$/,
  );
  assert.match(
    a,
    /^finetune\s+1,234,567\s+3\.00\s+40\.00\s+50\.00\s+25\.00 .* 100\.00\s+1\.00×\s+1\.00×\s+1\.00\s+1\.00×\s+52\.50$/,
  );
  assert.match(b, /^da3\s+.* 20\.00\s+5\.00×\s+40\.00×\s+0\.20\s+5\.00×\s+3\.50$/);
  assert.match(head, /weights MB\s+frozen MB\s+frozen as\s+trainable MB\s+grads MB/);
  assert.match(a, / 25\.00\s+20\.00\s+-\s+5\.00 /, "finetune: nothing frozen");
  assert.match(b, / 4\.00\s+u8\s+1\.00 /);
  assert.equal(new Set(text.split("\n").map((l) => l.length)).size, 1, "aligned columns");
  assert.equal(times(10, 4), "2.50×");
  assert.equal(count(25557032), "25,557,032");
  assert.equal(
    tableTitle({ model: "resnet50", batch: 8, classes: 100, optimizer: "adam" }, 224),
    "resnet50, batch 8, 224×224, 100 classes, optimizer adam, fp32; MB = 10^6 bytes; " +
      "ft/x = fine-tuning ÷ method",
  );
  const label = { model: "m", batch: 1, classes: 3, optimizer: "adam" as const };
  assert.equal(memoryJson({ ...label, single: true }, [d]), d);
  assert.deepEqual(memoryJson({ ...label, single: false }, [ft, d]), {
    model: "m",
    batch: 1,
    size: 4,
    classes: 3,
    optimizer: "adam",
    methods: [ft, d],
  });
});
