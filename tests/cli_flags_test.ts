/**
 * da3's one flag parser and error handler (lib/cli): flags with and without a
 * literal `--`, negative numbers as values, unknown flags listed, zod issues
 * named by flag, the exit code of every typed error class, and the fallback
 * warning of `selectRuntime("auto")` kept whole.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { type FlagSpecs, parseFlags, readFlags, UsageError } from "../lib/cli/flags.ts";
import {
  EXIT,
  EXIT_CODES,
  exitCodeOf,
  formatCliError,
  InputError,
  requireFile,
} from "../lib/cli/run.ts";
import { ConfigError } from "../lib/train/config.ts";
import { TrainingError } from "../lib/train/domain.ts";
import { CheckpointError } from "../lib/io/checkpoint.ts";
import { BackboneError } from "../lib/io/backbone.ts";
import { ResumeError } from "../lib/train/resume.ts";
import { TrainSpecError } from "../lib/train/train.ts";
import { SelectionError } from "../lib/train/select.ts";
import { ChecksumError, DataError } from "../lib/data/errors.ts";
import { SafetensorsError } from "../lib/io/safetensors.ts";
import { TorchvisionImportError } from "../lib/io/torchvision.ts";
import { NonFiniteError } from "../lib/io/finite.ts";
import { BudgetError, type RecomputeAdvice } from "../lib/plan/budget.ts";
import { GatingError } from "../lib/gating/rule.ts";
import { DeviceLostError, NoAdapterError } from "../lib/runtime/webgpu/errors.ts";
import { fallbackWarning } from "../lib/runtime/select.ts";

const SPECS = {
  epochs: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const Schema = z.object({
  epochs: z.coerce.number().int().min(1).max(1000).default(2),
  out: z.string().min(1).default("runs"),
  json: z.boolean().default(false),
  help: z.boolean().default(false),
});

const usage = (f: () => unknown, pattern: RegExp, flag?: string) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    assert.equal(e.flag, flag);
    assert.equal(exitCodeOf(e), EXIT.usage);
    return true;
  });

Deno.test("readFlags: values, booleans, -h, a literal -- anywhere, --x=v", () => {
  assert.deepEqual(readFlags(["--epochs", "3", "--json"], SPECS), { epochs: "3", json: true });
  assert.deepEqual(readFlags(["--", "--epochs=3", "--", "-h"], SPECS), { epochs: "3", help: true });
  assert.deepEqual(readFlags([], SPECS), {});
  assert.deepEqual(readFlags(["--epochs", "1", "--epochs", "4"], SPECS), { epochs: "4" });
});

Deno.test("a string flag takes a negative number; the range error names the flag", () => {
  assert.deepEqual(readFlags(["--epochs", "-1"], SPECS), { epochs: "-1" });
  assert.deepEqual(readFlags(["--out", "-.5"], SPECS), { out: "-.5" });
  usage(
    () => parseFlags(["--epochs", "-1"], SPECS, Schema),
    /^--epochs must be ≥ 1; got "-1"$/,
    "--epochs",
  );
  usage(
    () => parseFlags(["--", "--epochs", "1e4"], SPECS, Schema),
    /--epochs must be ≤ 1000/,
    "--epochs",
  );
  usage(
    () => parseFlags(["--epochs", "two"], SPECS, Schema),
    /--epochs must be a number; got "two"/,
    "--epochs",
  );
  usage(
    () => parseFlags(["--epochs", "1.5"], SPECS, Schema),
    /--epochs must be an integer/,
    "--epochs",
  );
});

Deno.test("unknown flags, missing values, values of booleans and positionals are UsageErrors", () => {
  usage(
    () => readFlags(["--epoch", "3"], SPECS),
    /^unknown flag --epoch \(known: --epochs, --out, --json, -h\/--help\)$/,
    "--epoch",
  );
  usage(() => readFlags(["-x"], SPECS), /unknown flag -x/, "-x");
  usage(() => readFlags(["--epochs"], SPECS), /^--epochs needs a value$/, "--epochs");
  usage(
    () => readFlags(["--out", "--json"], SPECS),
    /--out needs a value \(got the flag --json\)/,
    "--out",
  );
  usage(() => readFlags(["--json=yes"], SPECS), /--json takes no value; got "yes"/, "--json");
  usage(() => readFlags(["3"], SPECS), /unexpected argument "3"/);
});

Deno.test("parseFlags fills defaults and lists every issue, one line each", () => {
  assert.deepEqual(parseFlags([], SPECS, Schema), {
    epochs: 2,
    out: "runs",
    json: false,
    help: false,
  });
  assert.throws(() => parseFlags(["--epochs", "0", "--out="], SPECS, Schema), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.deepEqual(e.message.split("\n"), [
      '--epochs must be ≥ 1; got "0"',
      '--out must not be empty; got ""',
    ]);
    return true;
  });
});

Deno.test("property: a literal -- anywhere never changes what the flags parse to", () => {
  const token = fc.constantFrom<string[]>(["--json"], ["--epochs", "7"], ["--out", "a b"], ["-h"]);
  fc.assert(
    fc.property(
      fc.array(token, { maxLength: 5 }),
      fc.array(fc.nat(10), { maxLength: 3 }),
      (ts, at) => {
        const argv = ts.flat();
        const dashed = [...argv];
        for (const i of at) dashed.splice(Math.min(i, dashed.length), 0, "--");
        // A "--" inserted between a flag and its value still leaves the value to the flag.
        const clean = dashed.filter((a) => a !== "--");
        assert.deepEqual(clean, argv);
        assert.deepEqual(readFlags(dashed, SPECS), readFlags(argv, SPECS));
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("every typed error class da3 throws has its documented exit code", () => {
  const cases: [Error, number][] = [
    [new UsageError("x"), 2],
    [new ConfigError("x"), 2],
    [new InputError("f", "x"), 1],
    [new Deno.errors.NotFound("x"), 1],
    [new Deno.errors.PermissionDenied("x"), 1],
    [new Deno.errors.IsADirectory("x"), 1],
    [new DataError("f", "x"), 1],
    [new ChecksumError("f", "a", "b"), 1],
    [new CheckpointError("x"), 1],
    [new ResumeError("f", [{ field: "lr", stored: 0.1, asked: 0.2 }]), 1],
    [new TrainSpecError("x"), 1],
    [new SafetensorsError("x"), 1],
    [new BackboneError("x"), 1],
    [new TorchvisionImportError("t", "missing", "x"), 1],
    [new NonFiniteError("w.safetensors: fc.weight", 3, NaN, "refused"), 1],
    [
      new BudgetError(1, 2, { values: [], estimatedTotalBytes: 2 } as unknown as RecomputeAdvice),
      1,
    ],
    [new NoAdapterError(), 1],
    [new GatingError("x"), 1],
    [new SelectionError("x"), 1],
    [new TrainingError("x"), 3],
    [new DeviceLostError("destroyed", "x"), 3],
    [new TypeError("x"), 70],
    [new Error("x"), 70],
  ];
  for (const [e, code] of cases) assert.equal(exitCodeOf(e), code, e.name);
  const named = new Set(cases.map(([e]) => e.name));
  for (const name of Object.keys(EXIT_CODES)) assert.ok(named.has(name), `${name} untested`);
  assert.equal(exitCodeOf("a string"), 70);
});

Deno.test("formatCliError: tool, class, kind, exit code, message and what to do", () => {
  const input = formatCliError(
    "infer",
    new InputError("ck.safetensors", "no such file", "train it"),
  );
  assert.equal(
    input,
    "da3 infer: InputError (bad input, exit 1): ck.safetensors: no such file\n  what to do: train it",
  );
  const stop = formatCliError("train", new TrainingError("loss is NaN at epoch 1 step 3"));
  assert.match(stop, /^da3 train: TrainingError \(training stopped, exit 3\): loss is NaN/);
  assert.match(stop, /--resume/);
  const use = formatCliError("memory", new UsageError("a\nb"));
  assert.equal(
    use,
    "da3 memory: UsageError (usage, exit 2): a\n  b\n  what to do: see `deno task memory --help`",
  );
  const bug = formatCliError("train", new TypeError("x is undefined"));
  assert.match(
    bug,
    /^da3 train: TypeError \(internal error, exit 70\): TypeError: x is undefined\n/,
  );
  assert.match(bug, /a bug in da3/);
});

Deno.test("requireFile names the file, what it is and how to create it", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    () => requireFile(`${dir}/none.safetensors`, "checkpoint", "train it"),
    (e) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, `${dir}/none.safetensors: checkpoint file: no such file`);
      assert.equal(e.hint, "train it");
      return true;
    },
  );
  await assert.rejects(
    () => requireFile(dir, "backbone", "h"),
    /backbone file: not a regular file/,
  );
  await Deno.writeTextFile(`${dir}/f`, "x");
  await requireFile(`${dir}/f`, "backbone", "h");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the CPU fallback warning keeps the whole reason (navigator.gpu) and says what to do", () => {
  const w = fallbackWarning(new NoAdapterError("navigator.gpu is undefined"));
  assert.match(w, /^da3: WebGPU unavailable \(no WebGPU adapter: navigator\.gpu is undefined\); /);
  assert.match(w, /using the CPU runtime/);
  assert.match(w, /--backend cpu/);
  assert.ok(!w.includes("\n"), "one line");
  assert.match(fallbackWarning(new Error("first.\nsecond")), /\(Error: first\.\)/);
});
