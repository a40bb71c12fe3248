/**
 * The product CLIs as a user runs them (`deno task <name>` in a subprocess):
 * a literal `--` is forwarded and ignored, `--help` documents the exit codes,
 * an unknown flag is named with the known ones (exit 2), `--epochs -1` is a
 * range error of `--epochs` (exit 2), and a missing or truncated file is named
 * with what to do, without a stack trace (exit 1). No run trains.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** `deno task <task> ...args`; its exit code, stdout and stderr (without colours). */
async function task(name: string, ...args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
}

const CLIS = [
  "train",
  "pretrain",
  "memory",
  "infer",
  "gating-sweep",
  "data",
  "bench:kernels",
  "select",
];

/** No stack frame, no "Uncaught", no colour codes: the one error format only. */
function assertClean(err: string): void {
  assert.doesNotMatch(err, /^\s+at /m, err);
  assert.doesNotMatch(err, /Uncaught|ambiguous/i, err);
}

for (const cli of CLIS) {
  Deno.test(`deno task ${cli}: --help with and without a literal -- documents the exit codes`, async () => {
    const plain = await task(cli, "--help");
    const dashed = await task(cli, "--", "--help");
    assert.equal(plain.code, 0, plain.err);
    assert.equal(dashed.code, 0, dashed.err);
    assert.equal(dashed.out, plain.out);
    assert.match(plain.out, new RegExp(`usage: deno task ${cli}`));
    assert.match(
      plain.out,
      /exit codes: 0 success, 1 bad input .*\n.*2 usage .* 3 training stopped/,
    );
  });

  Deno.test(`deno task ${cli} --bogus: exit 2 naming the flag and the known ones`, async () => {
    const r = await task(cli, "--", "--bogus", "1");
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      new RegExp(`^da3 ${cli}: UsageError \\(usage, exit 2\\): unknown flag --bogus`),
    );
    assert.match(r.err, /\(known: --\w+, .*-h\/--help\)/);
    assert.match(r.err, new RegExp(`what to do: see \`deno task ${cli} --help\``));
    assertClean(r.err);
  });
}

Deno.test("deno task train --epochs -1: the range error of --epochs, with or without --", async () => {
  for (const args of [["--epochs", "-1"], ["--", "--epochs", "-1"]]) {
    const r = await task("train", ...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /UsageError \(usage, exit 2\): --epochs must be ≥ 1; got "-1"/);
    assertClean(r.err);
  }
  const two = await task("train", "--", "--epochs", "0", "--lr", "-1", "--optimizer", "rms");
  assert.equal(two.code, 2);
  assert.ok(
    two.err.includes('--epochs must be ≥ 1; got "0"\n  --lr must be > 0; got "-1"\n'),
    two.err,
  );
  assert.match(two.err, /--optimizer must be one of sgd, adam; got "rms"/);
});

Deno.test("deno task infer: a missing checkpoint or backbone is named with what to do (exit 1)", async () => {
  const dir = await Deno.makeTempDir();
  const ck = await task(
    "infer",
    "--",
    "--domain",
    "fashion",
    "--checkpoint",
    `${dir}/none.safetensors`,
  );
  assert.equal(ck.code, 1, ck.err);
  assert.match(
    ck.err,
    new RegExp(
      `^da3 infer: InputError \\(bad input, exit 1\\): ${dir}/none\\.safetensors: checkpoint file: no such file`,
    ),
  );
  assert.match(ck.err, /what to do: train it with `deno task train --method da3 --domains fashion/);
  assertClean(ck.err);
  const bb = await task("infer", "--domain", "fashion", "--backbone", `${dir}/bb.safetensors`);
  assert.equal(bb.code, 1, bb.err);
  assert.match(bb.err, new RegExp(`${dir}/bb\\.safetensors: backbone file: no such file`));
  assert.match(bb.err, /deno task pretrain/);
  assertClean(bb.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task infer: a truncated checkpoint's error names the file (exit 1)", async () => {
  const dir = await Deno.makeTempDir();
  const whole = await Deno.readFile(new URL("results/gating/da3-fashion.safetensors", ROOT));
  const path = `${dir}/cut.safetensors`;
  for (const bytes of [3000, whole.length - 100]) {
    await Deno.writeFile(path, whole.subarray(0, bytes));
    const r = await task("infer", "--domain", "fashion", "--checkpoint", path, "--limit", "1");
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      new RegExp(`^da3 infer: SafetensorsError \\(bad input, exit 1\\): ${path}`),
    );
    assert.match(r.err, /what to do: /);
    assertClean(r.err);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task infer: another domain's checkpoint is refused, naming both domains", async () => {
  const r = await task(
    "infer",
    "--domain",
    "fashion",
    "--checkpoint",
    "results/gating/da3-letters.safetensors",
  );
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /InputError \(bad input, exit 1\): results\/gating\/da3-letters\.safetensors: checkpoint of domain letters, not of --domain fashion/,
  );
  assert.match(r.err, /what to do: pass --domain letters/);
  assertClean(r.err);
});

Deno.test("deno task infer: a bad --domain, --gating or --limit is a usage error naming each", async () => {
  const r = await task("infer", "--domain", "klingon", "--gating", "maybe", "--limit", "0");
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--domain must be one of mnist, fashion, .*; got "klingon"/);
  assert.match(r.err, /--gating: must be off, open, exact, exact-l1 or a number τ; got "maybe"/);
  assert.match(r.err, /--limit must be ≥ 1; got "0"/);
  const none = await task("infer");
  assert.equal(none.code, 2);
  assert.match(none.err, /--domain is required/);
});

Deno.test("deno task select: a missing results file is exit 1 naming it; valid ones write the choice into a new folder", async () => {
  const dir = await Deno.makeTempDir();
  const missing = await task("select", "--from", `${dir}/none.json`, "--out", `${dir}/o`);
  assert.equal(missing.code, 1, missing.err);
  assert.match(missing.err, new RegExp(`${dir}/none.json: results file: no such file`));
  assertClean(missing.err);
  const run = (val: number, epochs: number) => ({
    method: "da3",
    domain: "fashion",
    top1: 0.5,
    valTop1: val,
    paramsPerDomain: 1,
    trainingBytes: 1,
    msPerStep: 1,
    flopsPerStep: 1,
    epochs,
  });
  for (const [e, v] of [[5, 0.4], [10, 0.6]]) {
    await Deno.writeTextFile(
      `${dir}/e${e}.json`,
      JSON.stringify({ backbone: "b", runs: [run(v, e)] }),
    );
  }
  const out = `${dir}/new/folder`;
  const ok = await task("select", "--from", `5=${dir}/e5.json,10=${dir}/e10.json`, "--out", out);
  assert.equal(ok.code, 0, ok.err);
  const chosen = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.equal(chosen.runs[0].epochs, 10);
  assert.match(
    await Deno.readTextFile(`${out}/selection.md`),
    /\| da3 \| 40\.0 \| \*\*60\.0\*\* \|/,
  );
  await Deno.remove(dir, { recursive: true });
});
