/**
 * Selection on validation (`selectByValidation`, `deno task select`):
 * per method the candidate with the best mean validation top-1 wins, the
 * earlier on a tie, whatever the test figures say; runs that cannot be
 * compared are refused with SelectionError; `results.json` reads back
 * exactly, and a mutated one reads or throws InputError, nothing else.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../lib/cli/run.ts";
import type { Results, RunResult } from "../lib/train/results.ts";
import { parseResults, ResultsSchema } from "../lib/train/results_file.ts";
import { selectByValidation, SelectionError, selectionTable } from "../lib/train/select.ts";
import { FUZZ_RUNS, mutate, mutationsOf } from "./fuzz_mutations.ts";

const DOMAINS = ["fashion", "letters", "mnist-m"];

function run(method: string, domain: string, valTop1: number, top1: number, epochs?: number) {
  return {
    method,
    domain,
    top1,
    valTop1,
    paramsPerDomain: 10,
    trainingBytes: 1000,
    msPerStep: 5,
    flopsPerStep: 100,
    ...(epochs !== undefined ? { epochs } : {}),
  } satisfies RunResult;
}

const mean = (rs: readonly RunResult[]) => rs.reduce((s, r) => s + r.valTop1!, 0) / rs.length;

Deno.test("selection: the best mean validation wins, not the best test; ties go to the earlier", () => {
  const at = (epochs: number, val: number[], test: number) => ({
    label: `${epochs} epochs`,
    results: {
      backbone: "b",
      runs: [
        ...DOMAINS.map((d, i) => run("da3", d, val[i], test, epochs)),
        ...DOMAINS.map((d) => run("probe", d, 0.5, 0.5)),
        ...DOMAINS.map((d) => run("finetune", d, 0.6, 0.6, epochs)),
      ],
    },
  });
  const s = selectByValidation([
    at(5, [0.6, 0.7, 0.5], 0.9),
    at(10, [0.7, 0.7, 0.5], 0.1),
    at(15, [0.7, 0.6, 0.4], 0.99),
  ]);
  const da3 = s.choices.find((c) => c.method === "da3")!;
  assert.equal(da3.chosen, 1);
  assert.deepEqual(s.results.runs.filter((r) => r.method === "da3").map((r) => r.top1), [
    0.1,
    0.1,
    0.1,
  ]);
  assert.equal(s.choices.find((c) => c.method === "finetune")!.chosen, 0, "tie: 5 epochs");
  assert.equal(s.results.runs.filter((r) => r.method === "probe").length, 3);
  const table = selectionTable(s);
  assert.match(table, /\| method \(mean val top-1\) \| 5 epochs \| 10 epochs \| 15 epochs \|/);
  assert.match(table, /\| da3 \| 60\.0 \| \*\*63\.3\*\* \| 56\.7 \|/);
  assert.match(table, /\| probe \| \*\*50\.0\*\* \| 50\.0 \| 50\.0 \|/);
});

Deno.test("selection property: the chosen runs are one candidate's, with no lower mean validation than any", () => {
  const candidate = (epochs: number) =>
    fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 3, maxLength: 3 }).map((v) => ({
      backbone: "b",
      runs: DOMAINS.map((d, i) => run("m", d, v[i] / 100, (100 - v[i]) / 100, epochs)),
    })).map((results) => ({ label: `${epochs}`, results }));
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }).chain((es) =>
        fc.tuple(...es.map(candidate))
      ),
      (cands) => {
        const s = selectByValidation(cands);
        const at = s.choices[0].chosen, chosen = cands[at].results;
        assert.deepEqual(s.results.runs, chosen.runs);
        cands.forEach((c, i) => {
          assert.ok(mean(chosen.runs) >= mean(c.results.runs));
          if (mean(c.results.runs) === mean(chosen.runs)) {
            assert.ok(at <= i, "the earlier on a tie");
          }
        });
      },
    ),
  );
});

Deno.test("selection refuses runs it cannot compare, naming the method and domain", () => {
  const runs = DOMAINS.map((d) => run("da3", d, 0.5, 0.5, 3));
  const ok = { label: "a", results: { backbone: "b", runs } };
  assert.throws(() => selectByValidation([]), SelectionError);
  assert.throws(
    () => selectByValidation([ok, { label: "c1", results: { backbone: "c", runs } }]),
    (e: Error) => e instanceof SelectionError && e.message.includes("c1 is of backbone c"),
  );
  const noVal = { backbone: "b", runs: [{ ...runs[0], valTop1: undefined }] };
  assert.throws(
    () => selectByValidation([{ label: "n", results: noVal }]),
    (e: Error) => e instanceof SelectionError && e.message.includes("da3/fashion"),
  );
  const fewer = { label: "f", results: { backbone: "b", runs: runs.slice(1) } };
  assert.throws(
    () => selectByValidation([ok, fewer]),
    (e: Error) => e instanceof SelectionError && e.message.includes("letters,mnist-m"),
  );
});

Deno.test(`results.json: ${FUZZ_RUNS} mutated files read to what they hold or throw InputError`, () => {
  const encoder = new TextEncoder();
  const valid: Results = {
    backbone: "abc",
    runs: [run("da3", "fashion", 0.5, 0.25, 3), run("probe", "fashion", 0.5, 0.5)],
  };
  assert.deepEqual(parseResults(JSON.stringify(valid), "r.json"), valid);
  const file = encoder.encode(JSON.stringify(valid, null, 1));
  fc.assert(
    fc.property(mutationsOf(file).map((m) => mutate(file, m)), (bytes) => {
      const text = new TextDecoder().decode(bytes);
      let json: unknown, parsed = false;
      try {
        json = JSON.parse(text);
        parsed = true;
      } catch { /* refused below */ }
      const ok = parsed && ResultsSchema.safeParse(json).success;
      try {
        const got = parseResults(text, "r.json");
        assert.ok(ok, "an invalid file was read");
        assert.deepEqual(got, ResultsSchema.parse(json));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        assert.ok(!ok, `a valid file was refused: ${e.message}`);
        assert.ok(e.message.startsWith("r.json: "));
      }
    }),
    { numRuns: FUZZ_RUNS },
  );
});
