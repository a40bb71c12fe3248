/**
 * Fuzzing the checkpoint reader: random mutations of valid checkpoint files
 * (bit flips, truncations, corrupted header lengths, duplicated and inserted
 * byte ranges) either load to exactly what the reference reading of the
 * mutated file holds (the original values when the mutation left them) or
 * throw a typed error (SafetensorsError, CheckpointError, NonFiniteError);
 * never another exception, never a non-finite value, never a checkpoint of
 * another format or backbone. `DA3_FUZZ_RUNS` sets the case count.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { NonFiniteError } from "../lib/io/finite.ts";
import { SafetensorsError, toFloat32Array } from "../lib/io/safetensors.ts";
import {
  type Checkpoint,
  CheckpointError,
  loadCheckpoint,
  saveCheckpoint,
} from "../lib/io/checkpoint.ts";
import { FUZZ_RUNS, mutate, mutationsOf } from "./fuzz_mutations.ts";
import { reference } from "./safetensors_reference.ts";

const BACKBONE = "5".repeat(64);
const LIMITS = { maxHeaderBytes: 100_000_000, maxFileBytes: 2_000_000_000 };

const valuesArb = fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
  minLength: 1,
  maxLength: 6,
}).map((v) => Float32Array.from(v));

/** A valid checkpoint's contents: parameters, state and metadata. */
const checkpointArb = fc.record({
  params: fc.uniqueArray(
    fc.tuple(fc.constantFrom("fc.weight", "fc.bias", "layer1.0.att.w", "bn1.weight"), valuesArb),
    { selector: ([n]) => n, minLength: 1, maxLength: 3 },
  ),
  state: fc.uniqueArray(fc.tuple(fc.constantFrom("m/fc.weight", "step"), valuesArb), {
    selector: ([n]) => n,
    maxLength: 2,
  }),
  epoch: fc.integer({ min: 0, max: 30 }),
  top1: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

/** The parts of a loaded checkpoint the oracle compares. */
interface Loaded {
  readonly meta: Record<string, unknown>;
  readonly params: Map<string, Float32Array>;
  readonly state: Map<string, Float32Array>;
}

/** The metadata fields the generated checkpoints write. */
function writtenMeta(meta: Checkpoint["meta"]): Record<string, unknown> {
  const { method, domain, backbone, epoch, top1 } = meta;
  return { method, domain, backbone, epoch, ...(top1 === undefined ? {} : { top1 }) };
}

/** What loading `file` must give: a checkpoint's contents, or "refused". */
function expected(file: Uint8Array): "refused" | Loaded {
  const ref = reference(file, LIMITS);
  if (ref === null) return "refused";
  const m = ref.metadata;
  if (m.format !== "da3-checkpoint-1" || m.backbone !== BACKBONE) return "refused";
  if (typeof m.method !== "string" || typeof m.domain !== "string") return "refused";
  const epoch = Number(m.epoch);
  if (!Number.isInteger(epoch) || epoch < 0) return "refused";
  const top1 = m.top1 === undefined ? undefined : Number(m.top1);
  if (top1 !== undefined && !Number.isFinite(top1)) return "refused";
  // Never written here: only a mutation could name these, and never into valid JSON options.
  if (m.options !== undefined || m.run !== undefined) return "refused";
  const params = new Map<string, Float32Array>(), state = new Map<string, Float32Array>();
  for (const [name, t] of ref.tensors) {
    const data = toFloat32Array({
      dtype: t.dtype as "F32",
      shape: t.shape,
      data: viewOf(t.dtype, t.bytes),
    });
    if (data.some((v) => !Number.isFinite(v))) return "refused";
    if (name.startsWith("state/")) state.set(name.slice(6), data);
    else params.set(name, data);
  }
  const meta: Record<string, unknown> = {
    method: m.method,
    domain: m.domain,
    backbone: m.backbone,
    epoch,
    ...(top1 === undefined ? {} : { top1 }),
  };
  return { meta, params, state };
}

/** The typed array of `dtype` over a copy of `bytes`, as the format lays it out. */
function viewOf(dtype: string, bytes: Uint8Array): Float32Array {
  const buffer = bytes.slice().buffer;
  const views: Record<string, (b: ArrayBuffer) => unknown> = {
    F64: (b) => new Float64Array(b),
    F32: (b) => new Float32Array(b),
    F16: (b) => new Uint16Array(b),
    BF16: (b) => new Uint16Array(b),
    I64: (b) => new BigInt64Array(b),
    I32: (b) => new Int32Array(b),
    I16: (b) => new Int16Array(b),
    I8: (b) => new Int8Array(b),
    U64: (b) => new BigUint64Array(b),
    U32: (b) => new Uint32Array(b),
    U16: (b) => new Uint16Array(b),
    U8: (b) => new Uint8Array(b),
    BOOL: (b) => new Uint8Array(b),
  };
  return views[dtype](buffer) as Float32Array;
}

const HEADER_LENGTH = [{ at: 0, width: 8, littleEndian: true }] as const;

/** A checkpoint file like the generated ones, whose header length seeds the length-field values. */
const TEMPLATE = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(
      `${dir}/t.safetensors`,
      { method: "da3", domain: "fashion", backbone: BACKBONE, epoch: 3, top1: 0.5 },
      new Map([["fc.weight", new Float32Array(4)], ["fc.bias", new Float32Array(2)]]),
      new Map([["step", new Float32Array(1)]]),
    );
    return await Deno.readFile(`${dir}/t.safetensors`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

Deno.test(`checkpoint fuzz: ${FUZZ_RUNS} mutated checkpoints load as written or throw a typed error`, async () => {
  const dir = await Deno.makeTempDir();
  const seen = { loaded: 0, refused: 0 };
  try {
    const source = `${dir}/source.safetensors`, path = `${dir}/mutated.safetensors`;
    await fc.assert(
      fc.asyncProperty(
        checkpointArb,
        fc.option(mutationsOf(TEMPLATE, HEADER_LENGTH), { freq: 10 }),
        async (c, mutations) => {
          await saveCheckpoint(
            source,
            { method: "da3", domain: "fashion", backbone: BACKBONE, epoch: c.epoch, top1: c.top1 },
            new Map(c.params),
            new Map(c.state),
          );
          const file = await Deno.readFile(source);
          const bytes = mutations ? mutate(file, mutations) : file;
          await Deno.writeFile(path, bytes);
          const want = expected(bytes);
          let got: Checkpoint;
          try {
            got = await loadCheckpoint(path, BACKBONE);
          } catch (e) {
            const typed = e instanceof SafetensorsError || e instanceof CheckpointError ||
              e instanceof NonFiniteError;
            if (!typed) throw e;
            assert.equal(want, "refused", `a valid checkpoint was refused: ${e.message}`);
            seen.refused++;
            return;
          }
          assert.notEqual(want, "refused", "a checkpoint that must be refused was loaded");
          if (want === "refused") return;
          seen.loaded++;
          assert.deepEqual(writtenMeta(got.meta), want.meta);
          assert.deepEqual([...got.params], [...want.params]);
          assert.deepEqual([...got.state], [...want.state]);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Both outcomes occur (checked where the case count makes it certain in practice).
  if (FUZZ_RUNS >= 100) assert.ok(seen.loaded > 0 && seen.refused > 0, JSON.stringify(seen));
});

Deno.test("the checkpoint defects the fuzzer found stay fixed: each is a CheckpointError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.safetensors`;
    await saveCheckpoint(
      path,
      { method: "da3", domain: "fashion", backbone: BACKBONE, epoch: 4 },
      new Map([["fc.weight", Float32Array.of(1, 2)]]),
    );
    const good = await Deno.readFile(path);
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(good.subarray(8, 8 + n));
    /** The file with one same-length edit of its (ASCII) header text. */
    const edit = (from: string, to: string) => {
      assert.equal(from.length, to.length);
      const at = header.indexOf(from);
      assert.ok(at >= 0, from);
      const out = good.slice();
      out.set(new TextEncoder().encode(to), 8 + at);
      return out;
    };
    const nan = good.slice();
    nan[nan.length - 1] = 0x7f;
    nan[nan.length - 2] = 0xc0;
    const cases: [string, Uint8Array, string][] = [
      ["a renamed method field", edit('"method"', '"lethod"'), "no method"],
      ["a renamed backbone field", edit('"backbone"', '"backbonf"'), "adapts backbone undefined"],
      ["an epoch that is not a number", edit('"epoch":"4"', '"epoch":"q"'), 'epoch "q"'],
      ["a NaN weight", nan, "fc.weight[1] is NaN"],
    ];
    for (const [label, bytes, part] of cases) {
      await Deno.writeFile(path, bytes);
      await assert.rejects(() => loadCheckpoint(path, BACKBONE), (e: unknown) => {
        assert.ok(e instanceof CheckpointError, `${label}: ${e}`);
        assert.ok(e.message.includes(part) && e.message.includes(path), `${label}: ${e.message}`);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
