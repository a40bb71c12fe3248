/**
 * The picture of a plan: its numbers (the timeline's peak is the plan's
 * lower bound at the plan's peak step, rectangles that share a step never
 * share bytes, each step's bands add up to its live rectangles), its SVG
 * rendered to PNG by rsvg-convert (a malformed SVG fails), and
 * `deno task memory --svg`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  arenaRects,
  CPU_TARGET,
  escapeXml,
  liveAt,
  type Plan,
  planGraph,
  planPicture,
  planTimeline,
  stepArea,
  tickStep,
  valueLabel,
} from "../lib/plan/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { METHODS } from "../lib/adapt/mod.ts";
import { parseMemoryArgs, svgPath } from "../scripts/memory.ts";
import { inferenceGraph, recipe, trainingGraph } from "./plan_dags.ts";

const plans: fc.Arbitrary<Plan> = fc.tuple(recipe(), fc.boolean(), fc.boolean(), fc.boolean())
  .map(([r, training, inPlace, small]) =>
    planGraph(
      training ? trainingGraph(r) : inferenceGraph(r),
      small ? { alignment: 4, maxBindingBytes: Infinity } : CPU_TARGET,
      { inPlace, optimizer: "adam" },
    )
  );

Deno.test("planTimeline: the arena peak is the plan's lower bound, at the plan's peak step", () => {
  fc.assert(
    fc.property(plans, (plan) => {
      const t = planTimeline(plan);
      assert.equal(t.steps, plan.schedule.length);
      assert.equal(t.peakArenaBytes, plan.lowerBoundBytes);
      if (plan.lowerBoundBytes > 0) assert.equal(t.peakStep, plan.peakStep);
      assert.equal(Math.max(0, ...t.arena), plan.lowerBoundBytes);
      assert.equal(
        t.peakBytes,
        plan.weightBytes + plan.gradientBytes + plan.optimizerBytes + plan.lowerBoundBytes,
      );
      for (let s = 0; s < t.steps; s++) {
        assert.ok(t.arena[s] <= plan.arenaBytes, `step ${s}: live arena bytes over the arena`);
        assert.equal(t.live.weights[s], plan.weightBytes);
        assert.equal(t.live.gradients[s], plan.gradientBytes);
        assert.equal(t.live.optimizer[s], plan.optimizerBytes);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("arenaRects: rectangles that share a step never share bytes; bands sum the live ones", () => {
  fc.assert(
    fc.property(plans, (plan) => {
      const rects = arenaRects(plan);
      const t = planTimeline(plan);
      assert.equal(rects.length, plan.values.filter((v) => v.offset !== null).length);
      rects.forEach((a, i) => {
        const v = plan.values[a.index];
        assert.ok(a.first <= a.last, `value ${v.name}: empty rectangle`);
        assert.equal(a.first, v.firstWrite);
        assert.ok(a.last <= v.lastRead);
        assert.ok(a.offset + a.bytes <= plan.arenaBytes, `value ${v.name} past the arena`);
        for (let j = i + 1; j < rects.length; j++) {
          const b = rects[j];
          if (a.first > b.last || b.first > a.last) continue;
          const disjoint = a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset;
          assert.ok(disjoint, `${v.name} and ${plan.values[b.index].name} overlap`);
        }
      });
      for (let s = 0; s < t.steps; s++) {
        const live = liveAt(plan, s);
        for (const c of ["input", "saved", "transient"] as const) {
          const sum = live.filter((r) => r.category === c).reduce((x, r) => x + r.bytes, 0);
          assert.equal(t.live[c][s], sum, `step ${s} band ${c}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("valueLabel names values by op, type and the layer of their nearest parameter", () => {
  const model = resnet20({ adaptor: METHODS.da3().adaptor, batch: 2, classes: 10 });
  const plan = planGraph(grad(classificationLoss(model)), CPU_TARGET, { optimizer: "adam" });
  const t = planTimeline(plan);
  const peak = liveAt(plan, t.peakStep);
  assert.ok(peak.length > 0);
  for (const r of peak) {
    const label = valueLabel(plan, r.index);
    const v = plan.values[r.index];
    if (v.name.startsWith("%")) {
      assert.ok(label.startsWith(`${v.op} ${v.dtype}[${v.shape.join(",")}] ${v.phase}`), label);
    } else assert.equal(label, v.name);
  }
  const conv = plan.values.find((v) => v.op === "conv2d" && v.name.startsWith("%"))!;
  assert.match(valueLabel(plan, conv.index), /· (conv1|layer\d\.\d\.conv\d)/);
});

Deno.test("stepArea, tickStep and escapeXml", () => {
  const id = (v: number) => v;
  assert.equal(stepArea([2, 2, 3], [0, 0, 1], id, id), "M0,2H2V3H3V1H2V0H0Z");
  assert.equal(stepArea([], [], id, id), "");
  assert.equal(tickStep(1000), 200);
  assert.equal(tickStep(207.69e6), 50e6);
  assert.equal(tickStep(7, 8), 1);
  assert.equal(escapeXml(`a<b & "c">`), "a&lt;b &amp; &quot;c&quot;&gt;");
});

/** Renders SVG text to PNG with rsvg-convert; returns its exit code, stderr and the PNG. */
async function rsvg(svg: string): Promise<{ code: number; err: string; png: Uint8Array }> {
  let child;
  try {
    child = new Deno.Command("rsvg-convert", {
      args: ["--format", "png"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      "rsvg-convert not found: install Debian's librsvg2-bin (scripts/install_webgpu_deps.sh does)",
      { cause: e },
    );
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(svg));
  await w.close();
  const r = await child.output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr), png: r.stdout };
}

/** Width and height of a PNG from its IHDR chunk. */
function pngSize(png: Uint8Array): [number, number] {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...png.subarray(0, 8)], signature, "not a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("planPicture renders to PNG with rsvg-convert (ResNet-20 DA³ and random plans)", async () => {
  const model = resnet20({ adaptor: METHODS.da3().adaptor, batch: 2, classes: 10 });
  const plan = planGraph(grad(classificationLoss(model)), CPU_TARGET, { optimizer: "adam" });
  const svg = planPicture(plan, { title: `resnet20 <da3> & "friends"` });
  assert.ok(svg.startsWith("<svg "));
  assert.match(svg, /peak [\d.]+ MB at step \d+/);
  assert.ok(svg.includes(`resnet20 &lt;da3&gt; &amp; &quot;friends&quot;`));
  const rects = (svg.match(/<rect /g) ?? []).length;
  assert.ok(rects >= arenaRects(plan).length, "one rectangle per arena value");
  const r = await rsvg(svg);
  assert.equal(r.code, 0, r.err);
  const [w, h] = pngSize(r.png);
  assert.equal(w, Number(svg.match(/width="(\d+)"/)![1]));
  assert.equal(h, Number(svg.match(/height="(\d+)"/)![1]));

  const broken = await rsvg(svg.replace("</svg>", ""));
  assert.notEqual(broken.code, 0, "rsvg-convert accepts a truncated SVG");

  const samples = fc.sample(plans, { numRuns: 5, seed: 18 });
  for (const p of samples) {
    const out = await rsvg(planPicture(p));
    assert.equal(out.code, 0, out.err);
  }
});

Deno.test("deno task memory --svg: one file for one method, out-<method>.svg for all", async () => {
  assert.equal(svgPath("a/b.svg", "da3", true), "a/b.svg");
  assert.equal(svgPath("a/b.svg", "da3", false), "a/b-da3.svg");
  assert.equal(parseMemoryArgs(["--svg", "x.svg"]).svg, "x.svg");
  assert.throws(() => parseMemoryArgs(["--svg", "x.png"]), /--svg must end in \.svg/);
  const dir = await Deno.makeTempDir();
  try {
    const cli = new URL("../scripts/memory.ts", import.meta.url).pathname;
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "--model", "resnet20", "--batch", "2", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const one = await run("--method", "da3", "--svg", `${dir}/one.svg`);
    assert.equal(one.code, 0, new TextDecoder().decode(one.stderr));
    const svg = await Deno.readTextFile(`${dir}/one.svg`);
    assert.match(svg, /resnet20 da3: one training step, batch 2/);
    const rendered = await rsvg(svg);
    assert.equal(rendered.code, 0, rendered.err);

    const all = await run("--method", "all", "--json", "--svg", `${dir}/all.svg`);
    assert.equal(all.code, 0, new TextDecoder().decode(all.stderr));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const expected = ["one.svg", ...Object.keys(METHODS).map((m) => `all-${m}.svg`)].sort();
    assert.deepEqual(names, expected);
    JSON.parse(new TextDecoder().decode(all.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
