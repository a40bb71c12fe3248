/**
 * Resuming only what continues bit-exactly: every run-configuration change
 * but more epochs is refused, naming the field and both values, before
 * anything is written; stale temporaries of da3's own writes are removed and
 * nothing else is; a run that fails validation writes nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadBackbone } from "../lib/io/backbone.ts";
import { type JsonValue, saveCheckpoint } from "../lib/io/checkpoint.ts";
import { DataError } from "../lib/data/mod.ts";
import { parseTrainConfig } from "../lib/train/config.ts";
import { trainDomain } from "../lib/train/domain.ts";
import { removeStaleTemporaries } from "../lib/train/files.ts";
import { jsonDifferences, ResumeError } from "../lib/train/resume.ts";
import { runTraining } from "../lib/train/run.ts";
import { job, snapshot, synthetic } from "./train_fixture.ts";

const changes = [
  { over: { lr: 2e-2 }, field: "lr", values: "0.01 → 0.02" },
  { over: { optimizer: "sgd" as const }, field: "optimizer.kind", values: '"adam" → "sgd"' },
  { over: { seed: 4 }, field: "seed", values: "3 → 4" },
  { over: { batch: 2 }, field: "batch", values: "4 → 2" },
  { over: { da3: { reduction: 4 } }, field: "da3.reduction", values: "(unset) → 4" },
  { over: { train: synthetic(8, 5) }, field: "data", values: "" },
  { over: { train: synthetic(12, 1) }, field: "examples", values: "8 → 12" },
  {
    over: { schedule: { kind: "cosine" as const, warmup: 1 } },
    field: "schedule",
    values: '(unset) → {"kind":"cosine","warmup":1,"steps":4}',
  },
];

const COSINE = { kind: "cosine", warmup: 1 } as const;

/** A progress callback that stops the run at the end of epoch `at`'s steps, before its checkpoint. */
function stopAt(at: number): (line: string, final: boolean) => void {
  return (line, final) => {
    if (final && line.includes(`epoch ${at}/`)) throw new Error(`stopped in epoch ${at}`);
  };
}

Deno.test("a cosine run stopped after an epoch and resumed equals the uninterrupted run bit for bit", async () => {
  const [a, b, c] = [await Deno.makeTempDir(), await Deno.makeTempDir(), await Deno.makeTempDir()];
  const straight = await trainDomain(job(a, { epochs: 2, schedule: COSINE }));
  await assert.rejects(
    () => trainDomain(job(b, { epochs: 2, schedule: COSINE, progress: stopAt(2) })),
    /stopped in epoch 2/,
  );
  const resumed = await trainDomain(job(b, { epochs: 2, schedule: COSINE, resume: true }));
  assert.deepEqual([...resumed.params.keys()], [...straight.params.keys()]);
  for (const [k, v] of straight.params) {
    const w = resumed.params.get(k)!;
    assert.ok(w.length === v.length && w.every((x, i) => Object.is(x, v[i])), k);
  }
  assert.equal(resumed.top1, straight.top1);
  const constant = await trainDomain(job(c, { epochs: 2 }));
  assert.notDeepEqual(constant.params.get("fc.weight"), straight.params.get("fc.weight"));
  // Another length or warm-up would change the rate of the steps to come: refused by field.
  const before = await snapshot(b);
  const refused = [
    { over: { epochs: 3 }, text: "schedule.steps 4 → 6" },
    { over: { schedule: { kind: "cosine" as const, warmup: 2 } }, text: "schedule.warmup 1 → 2" },
    { over: { schedule: { kind: "constant" as const, warmup: 1 } }, text: "schedule.kind" },
  ];
  for (const r of refused) {
    await assert.rejects(
      () => trainDomain(job(b, { epochs: 2, schedule: COSINE, resume: true, ...r.over })),
      (e: unknown) => e instanceof ResumeError && e.message.includes(r.text),
    );
  }
  assert.deepEqual(await snapshot(b), before);
  for (const d of [a, b, c]) await Deno.remove(d, { recursive: true });
});

Deno.test("--resume refuses a changed run, naming the field and both values; files unchanged", async () => {
  const out = await Deno.makeTempDir();
  await trainDomain(job(out, { epochs: 1 }));
  const before = await snapshot(out);
  for (const c of changes) {
    await assert.rejects(
      () => trainDomain(job(out, { epochs: 2, resume: true, ...c.over })),
      (e: unknown) => {
        assert.ok(e instanceof ResumeError, `${c.field}: ${e}`);
        assert.ok(e.differences.some((d) => d.field === c.field), e.message);
        assert.ok(e.message.includes(`${c.field} ${c.values}`), e.message);
        assert.ok(e.message.includes("da3-fashion.epoch.safetensors"), e.message);
        return true;
      },
    );
    assert.deepEqual(await snapshot(out), before, c.field);
  }
  await Deno.remove(out, { recursive: true });
});

Deno.test("structural comparison: equal JSON has no difference; one changed leaf is named", () => {
  const json = fc.letrec<{ v: JsonValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string(),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), tie("v"), { maxKeys: 3 }),
    ),
  })).v;
  fc.assert(
    fc.property(json, (v) => {
      const copy = JSON.parse(JSON.stringify(v));
      assert.deepEqual(jsonDifferences(copy, JSON.parse(JSON.stringify(v))), []);
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(
      fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.integer(), { minKeys: 1 }),
      fc.nat(),
      (rec, k) => {
        const key = Object.keys(rec)[k % Object.keys(rec).length];
        const changed = { ...rec, [key]: rec[key] + 1 };
        assert.deepEqual(jsonDifferences({ a: rec }, { a: changed }), [
          { field: `a.${key}`, stored: rec[key], asked: rec[key] + 1 },
        ]);
      },
    ),
    { numRuns: 200 },
  );
  // Key order does not matter (JSON.stringify would differ).
  assert.deepEqual(jsonDifferences({ x: 1, y: [1, 2] }, { y: [1, 2], x: 1 }), []);
});

Deno.test("stale temporaries of da3's own writes are removed; every other file stays", async () => {
  const dir = await Deno.makeTempDir();
  const uuid = crypto.randomUUID();
  const stale = [
    `.da3-fashion.epoch.safetensors.${uuid}.tmp`,
    `.finetune-mnist-m.safetensors.${crypto.randomUUID()}.tmp`,
    `.results.json.${crypto.randomUUID()}.tmp`,
  ];
  const kept = [
    "da3-fashion.safetensors",
    `.notes.txt.${uuid}.tmp`,
    ".da3-fashion.safetensors.tmp",
    `da3-fashion.safetensors.${uuid}.tmp`,
    `.da3-fashion.safetensors.${uuid}.tmp.bak`,
    `.da3-fashion.safetensors.${uuid.toUpperCase()}.tmp`,
    `.backbone.${uuid}.tmp`,
  ];
  for (const n of [...stale, ...kept]) await Deno.writeTextFile(`${dir}/${n}`, n);
  await Deno.mkdir(`${dir}/.da3-x-y.safetensors.${uuid}.tmp`);
  assert.deepEqual(await removeStaleTemporaries(dir), [...stale].sort());
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(left, [...kept, `.da3-x-y.safetensors.${uuid}.tmp`].sort());
  for (const n of kept) assert.equal(await Deno.readTextFile(`${dir}/${n}`), n);
  assert.deepEqual(await removeStaleTemporaries(`${dir}/missing`), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a resumed run removes its own stale temporaries only", async () => {
  const out = await Deno.makeTempDir();
  await trainDomain(job(out, { epochs: 1 }));
  const ownTmp = `.da3-fashion.epoch.safetensors.${crypto.randomUUID()}.tmp`;
  const otherTmp = `.bnhead-fashion.epoch.safetensors.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(`${out}/${ownTmp}`, "partial");
  await Deno.writeTextFile(`${out}/${otherTmp}`, "partial");
  await trainDomain(job(out, { epochs: 2, resume: true }));
  const names = [...Deno.readDirSync(out)].map((e) => e.name);
  assert.ok(!names.includes(ownTmp), "own temporary removed");
  assert.ok(names.includes(otherTmp), "another run's temporary kept");
  await Deno.remove(out, { recursive: true });
});

Deno.test("a run that fails validation writes nothing: unknown domain, refused resume", async () => {
  const bb = await loadBackbone();
  const base = await Deno.makeTempDir();
  const out = `${base}/run`;
  const config = (over: Record<string, unknown>) =>
    parseTrainConfig({
      backbone: "resnet20-mnist",
      backend: "cpu",
      out,
      epochs: 1,
      limit: 8,
      batch: 4,
      ...over,
    });
  await assert.rejects(
    () => runTraining(config({ domains: ["fashion", "klingon"] }), () => {}, bb),
    (e: unknown) => e instanceof DataError && e.message.includes("klingon"),
  );
  assert.deepEqual([...Deno.readDirSync(base)], [], "no output folder created");
  await Deno.mkdir(out);
  const meta = { method: "da3", domain: "sklearn-digits", backbone: bb.hash, epoch: 1 };
  await saveCheckpoint(`${out}/da3-sklearn-digits.epoch.safetensors`, {
    ...meta,
    run: { lr: 5 },
  }, new Map());
  const before = await snapshot(out);
  await assert.rejects(
    () =>
      runTraining(
        config({ domains: ["fashion", "sklearn-digits"], resume: true }),
        () => {},
        bb,
      ),
    (e: unknown) => e instanceof ResumeError && /lr 5 → 0\.001/.test(e.message),
  );
  assert.deepEqual(await snapshot(out), before, "fashion was not trained first");
  await Deno.remove(base, { recursive: true });
});
