/**
 * Fuzzing the JSON readers: the training configuration file
 * (`--config file.json`) and a data directory's `manifest.json`. Random
 * mutations of valid files (bit flips, truncations, duplicated, deleted and
 * inserted byte ranges, a whole file replaced by another JSON value) either
 * read to exactly the object the mutated text holds or throw the reader's
 * typed error (InputError or UsageError; DataError); never another
 * exception. `DA3_FUZZ_RUNS` sets the case count.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../lib/cli/run.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { DataError } from "../lib/data/errors.ts";
import { type Manifest, parseManifest } from "../lib/data/manifest.ts";
import { trainConfigFromArgs } from "../lib/train/args.ts";
import { TrainConfigSchema } from "../lib/train/config.ts";
import { FUZZ_RUNS, mutate, mutationsOf } from "./fuzz_mutations.ts";

const encoder = new TextEncoder();

/** A valid `--config` file's fields. */
const configArb = fc.record({
  method: fc.subarray(["da3", "finetune", "lastlayer"], { minLength: 1 }),
  epochs: fc.integer({ min: 1, max: 20 }),
  batch: fc.integer({ min: 1, max: 64 }),
  lr: fc.constantFrom(1e-3, 0.01, 0.5),
  optimizer: fc.constantFrom("sgd", "adam"),
  seed: fc.nat(100),
  out: fc.constantFrom("runs/a", "runs/b"),
}, { requiredKeys: ["method"] });

/** The text of a file: mutated bytes of a valid one, or some other JSON value. */
function textArb<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: valid.map((v) => encoder.encode(JSON.stringify(v, null, 1))).chain((file) =>
        mutationsOf(file).map((m) => mutate(file, m))
      ),
    },
    { weight: 1, arbitrary: fc.json().map((t) => encoder.encode(t)) },
  );
}

/** The JSON value `bytes` hold as UTF-8 text (as the readers decode it), or undefined. */
function jsonOf(bytes: Uint8Array): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

Deno.test(`config fuzz: ${FUZZ_RUNS} mutated --config files give their own fields or a typed error`, async () => {
  const dir = await Deno.makeTempDir();
  const seen = { read: 0, refused: 0 };
  try {
    const path = `${dir}/config.json`;
    await fc.assert(
      fc.asyncProperty(textArb(configArb), async (bytes) => {
        await Deno.writeFile(path, bytes);
        const json = jsonOf(bytes);
        const valid = json !== undefined && isObject(json.value) &&
          TrainConfigSchema.safeParse(json.value).success;
        let got;
        try {
          got = await trainConfigFromArgs(["--config", path]);
        } catch (e) {
          if (!(e instanceof InputError || e instanceof UsageError)) throw e;
          assert.ok(!valid, `a valid config was refused: ${e.message}`);
          assert.ok(e.message.includes(path), `"${e.message}" does not name ${path}`);
          seen.refused++;
          return;
        }
        assert.ok(valid, `read ${JSON.stringify(json?.value)} as ${JSON.stringify(got)}`);
        assert.deepEqual(got, TrainConfigSchema.parse(json!.value));
        seen.read++;
      }),
      { numRuns: FUZZ_RUNS },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Both outcomes occur (checked where the case count makes it certain in practice).
  if (FUZZ_RUNS >= 100) assert.ok(seen.read > 0 && seen.refused > 0, JSON.stringify(seen));
});

/** A valid manifest. */
const manifestArb: fc.Arbitrary<Manifest> = fc.record({
  format: fc.constant("da3-data/1" as const),
  kind: fc.constantFrom("cache" as const, "embedded" as const),
  createdBy: fc.constantFrom("scripts/prepare_data.ts", "x"),
  files: fc.dictionary(
    fc.constantFrom("a/train-images.idx", "b.gz", "c"),
    fc.record({
      sha256: fc.constantFrom("0".repeat(64), "a".repeat(64)),
      bytes: fc.nat(10_000),
    }),
    { maxKeys: 3 },
  ),
  domains: fc.dictionary(
    fc.constantFrom("mnist", "fashion"),
    fc.record({
      train: fc.nat(60_000),
      test: fc.nat(10_000),
      shape: fc.constant([1, 28, 28] as [number, number, number]),
      classes: fc.array(fc.constantFrom("0", "1", "shirt"), { maxLength: 3 }),
      source: fc.constant("yann.lecun.com"),
    }),
    { maxKeys: 2 },
  ),
});

/** The schema's reading of `value` (the reference: a mutated manifest either validates or not). */
function validManifest(value: unknown): boolean {
  try {
    parseManifest(JSON.stringify(value), "reference");
    return true;
  } catch {
    return false;
  }
}

/** Asserts every field of `got`, recursively, equals the same field of `source`. */
function assertWithin(got: unknown, source: unknown, at: string): void {
  if (typeof got !== "object" || got === null) {
    assert.deepEqual(got, source, at);
    return;
  }
  assert.equal(Array.isArray(got), Array.isArray(source), at);
  assert.ok(typeof source === "object" && source !== null, at);
  if (Array.isArray(got)) assert.equal(got.length, (source as unknown[]).length, at);
  for (const [k, v] of Object.entries(got)) {
    assert.ok(Object.hasOwn(source, k), `${at}.${k} is not in the text`);
    assertWithin(v, (source as Record<string, unknown>)[k], `${at}.${k}`);
  }
}

Deno.test(`manifest fuzz: ${FUZZ_RUNS} mutated manifests read as their text says or throw DataError`, () => {
  const seen = { read: 0, refused: 0 };
  fc.assert(
    fc.property(textArb(manifestArb), (bytes) => {
      const text = new TextDecoder().decode(bytes);
      let got: Manifest;
      try {
        got = parseManifest(text, "data/manifest.json");
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        assert.ok(e.message.includes("data/manifest.json"), e.message);
        const json = jsonOf(bytes);
        assert.ok(json === undefined || !validManifest(json.value), `refused: ${e.message}`);
        seen.refused++;
        return;
      }
      const json = jsonOf(bytes);
      assert.ok(json !== undefined && isObject(json.value));
      // The manifest read is the object the text holds: no field added or coerced (the schema
      // ignores keys it does not know, so those may be dropped).
      assertWithin(got, json.value, "manifest");
      seen.read++;
    }),
    { numRuns: FUZZ_RUNS },
  );
  if (FUZZ_RUNS >= 100) assert.ok(seen.read > 0 && seen.refused > 0, JSON.stringify(seen));
});

Deno.test("a --config file of null, a number or an array is an InputError naming the file (the fuzzer's finds)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config.json`;
    for (const [text, what] of [["null", "null"], ["0", "0"], ["[1]", "an array"]]) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(() => trainConfigFromArgs(["--config", path]), (e: unknown) => {
        assert.ok(e instanceof InputError, `${text}: ${e}`);
        assert.ok(e.message.includes(path) && e.message.includes(`holds ${what}`), e.message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
