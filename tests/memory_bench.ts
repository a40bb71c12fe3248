/**
 * The training-memory table of ResNet-50 (224², batch 8, 100 classes, Adam,
 * fp32), printed once when the file loads, and the time to build and plan
 * each method's training step.
 *
 * deno bench -A tests/memory_bench.ts
 */
import {
  formatTable,
  memoryRow,
  memoryTable,
  METHOD_NAMES,
  parseMemoryArgs,
  tableTitle,
} from "../scripts/memory.ts";

const args = parseMemoryArgs(["--model", "resnet50", "--batch", "8", "--size", "224"]);
const { rows, reference } = memoryTable(args);
console.log(tableTitle(args, rows[0].size));
console.log(formatTable(rows, reference));

for (const method of METHOD_NAMES) {
  Deno.bench(`build + plan ResNet-50 b8 224² training step: ${method}`, {
    group: "memory-table",
    baseline: method === "finetune",
    n: 5,
    warmup: 1,
  }, () => {
    memoryRow(args, method);
  });
}
