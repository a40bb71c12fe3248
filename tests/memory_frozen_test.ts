/**
 * `deno task memory --frozen-weights`: the weights column counts the bytes
 * of frozen conv weights stored as u8 (1 per element + 8 per output
 * channel) or f16 (2 per element); fine-tuning, which freezes nothing, is
 * unchanged; a bad value is a usage error naming the allowed ones.
 */
import assert from "node:assert/strict";
import { grad } from "../lib/autodiff/mod.ts";
import { isTrainable, numel, params } from "../lib/graph/mod.ts";
import { METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { memoryRow, parseMemoryArgs, tableTitle } from "../scripts/memory.ts";
import { UsageError } from "../lib/cli/flags.ts";

const base = { model: "resnet20", batch: 2, classes: 10, optimizer: "adam" as const };

Deno.test("memory --frozen-weights u8|f16: DA³'s weights shrink by exactly the frozen conv bytes; fine-tuning is unchanged", () => {
  const model = resnet20({ adaptor: METHODS.da3().adaptor, batch: 2, classes: 10 });
  const frozen = params(grad(classificationLoss(model)).graph).filter((p) =>
    !isTrainable(p) && p.shape.length === 4
  );
  assert.ok(frozen.length >= 19, `${frozen.length} frozen convs`);
  const n = frozen.reduce((s, p) => s + numel(p.shape), 0);
  const channels = frozen.reduce((s, p) => s + p.shape[0], 0);
  const row = (w: "f32" | "f16" | "u8", m: "da3" | "finetune") =>
    memoryRow({ ...base, frozenWeights: w }, m).row;
  const f32 = row("f32", "da3");
  assert.equal(f32.weightBytes - row("u8", "da3").weightBytes, 3 * n - 8 * channels);
  assert.equal(f32.weightBytes - row("f16", "da3").weightBytes, 2 * n);
  assert.equal(row("u8", "da3").arenaBytes, f32.arenaBytes);
  assert.deepEqual(row("u8", "finetune"), row("f32", "finetune"));
});

Deno.test("memory --frozen-weights: parsed, defaults to u8, named in the title, a bad value names the allowed ones", () => {
  assert.equal(parseMemoryArgs([]).frozenWeights, "u8");
  assert.equal(parseMemoryArgs(["--frozen-weights", "u8"]).frozenWeights, "u8");
  assert.throws(
    () => parseMemoryArgs(["--frozen-weights", "u4"]),
    (e) =>
      e instanceof UsageError &&
      /--frozen-weights must be one of f32, f16, u8; got "u4"/.test(e.message),
  );
  assert.match(
    tableTitle({ ...base, frozenWeights: "u8" }, 32),
    /fp32, frozen conv\/linear weights u8 where the op reads them packed \(frozen as\), trainable weights fp32;/,
  );
  assert.match(
    tableTitle({ ...base, frozenWeights: "f32" }, 32),
    /frozen conv\/linear weights fp32/,
  );
});
