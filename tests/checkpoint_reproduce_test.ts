/**
 * Every committed final checkpoint reproduces its recorded accuracies:
 * `reproduceCheckpoint` rebuilds the evaluation from the run record alone
 * and re-measures test and validation top-1 on the CPU runtime, equal to the
 * recorded figures exactly (the same examples, so the same ratio of integer
 * counts; the fixtures were trained on the CPU runtime too, so the logits
 * are the same bits). A record without a needed field is a ReproduceError
 * naming the file and the field.
 *
 * Checked: every `*.safetensors` final checkpoint under
 * `tests/fixtures/checkpoints/` (trained on the embedded data, so no cache
 * is needed), and those under `results/` whose run record says
 * `config.data.origin` is `embedded`. Not checked, by that rule: `results/`
 * checkpoints trained on the prepared cache (`origin` `cache`, which needs
 * `deno task data`) or written before the record named its data.
 *
 * The fixtures are regenerated with:
 * ```sh
 * deno task train -- --backbone resnet20-mnist --method lastlayer,da3 --domains sklearn-digits \
 *   --epochs 1 --limit 200 --validation 100 --test-limit 100 --backend cpu \
 *   --out tests/fixtures/checkpoints
 * rm tests/fixtures/checkpoints/*.epoch.safetensors tests/fixtures/checkpoints/results.*
 * ```
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint, saveCheckpoint } from "../lib/io/checkpoint.ts";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";
import { reproduceCheckpoint, ReproduceError } from "../lib/train/reproduce.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FIXTURES = join(ROOT, "tests/fixtures/checkpoints");

/** Every final checkpoint (`*.safetensors`, not `*.epoch.safetensors`) under `dir`, recursively. */
async function finalCheckpoints(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await finalCheckpoints(p));
    else if (e.name.endsWith(".safetensors") && !e.name.endsWith(".epoch.safetensors")) {
      out.push(p);
    }
  }
  return out.sort();
}

/** True when a checkpoint's run record says it was trained on the embedded data. */
async function embeddedTrained(path: string): Promise<boolean> {
  const { metadata } = await readSafetensorsFile(path);
  if (metadata.format !== "da3-checkpoint-1" || metadata.run === undefined) return false;
  return JSON.parse(metadata.run)?.config?.data?.origin === "embedded";
}

async function checked(): Promise<string[]> {
  const fixtures = await finalCheckpoints(FIXTURES);
  const results = [];
  for (const p of await finalCheckpoints(join(ROOT, "results"))) {
    if (await embeddedTrained(p)) results.push(p);
  }
  return [...fixtures, ...results];
}

Deno.test("every committed embedded-data checkpoint reproduces its recorded test and validation top-1", async () => {
  const paths = await checked();
  assert.ok(paths.filter((p) => p.startsWith(FIXTURES)).length >= 2, "the fixtures are there");
  for (const path of paths) {
    const { metadata } = await readSafetensorsFile(path);
    assert.ok(metadata.top1 !== undefined && metadata.valTop1 !== undefined, path);
    const r = await reproduceCheckpoint(path);
    assert.equal(r.top1, Number(metadata.top1), `${path}: test top-1`);
    assert.equal(r.valTop1, Number(metadata.valTop1), `${path}: validation top-1`);
  }
});

Deno.test("a run record without a needed field is a ReproduceError naming the file and the field", async () => {
  const [source] = await finalCheckpoints(FIXTURES);
  const { metadata } = await readSafetensorsFile(source);
  const c = await loadCheckpoint(source, metadata.backbone);
  const run = c.meta.run as Record<string, Record<string, unknown>>;
  const dir = await Deno.makeTempDir();
  const cases = [
    { field: "config.data.origin", run: { ...run, config: { backbone: run.config.backbone } } },
    {
      field: "config.data.testLimit",
      run: {
        ...run,
        config: { ...run.config, data: { ...run.config.data as object, testLimit: undefined } },
      },
    },
    { field: "batch", run: { ...run, batch: undefined } },
    { field: "run", run: undefined },
  ];
  for (const k of cases) {
    const path = join(dir, "da3-sklearn-digits.safetensors");
    const meta = { ...c.meta, run: k.run && JSON.parse(JSON.stringify(k.run)) };
    await saveCheckpoint(path, meta, c.params);
    await assert.rejects(
      () => reproduceCheckpoint(path),
      (e: unknown) =>
        e instanceof ReproduceError && e.field === k.field && e.path === path &&
        e.message.includes(path) && e.message.includes(k.field),
    );
  }
  // Another fit set than the recorded one (a changed limit) is refused by its digest's field.
  const other = {
    ...run,
    config: { ...run.config, data: { ...run.config.data as object, limit: 300 } },
  };
  const path = join(dir, "da3-sklearn-digits.safetensors");
  await saveCheckpoint(path, { ...c.meta, run: JSON.parse(JSON.stringify(other)) }, c.params);
  await assert.rejects(
    () => reproduceCheckpoint(path),
    (e: unknown) => e instanceof ReproduceError && e.field === "examples",
  );
  await Deno.remove(dir, { recursive: true });
});
