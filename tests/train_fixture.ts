/** A tiny synthetic domain, a seeded backbone and a job on them, shared by the training tests. */
import { cpuRuntime, type Dataset, initParams, type Runtime } from "../mod.ts";
import { hashParams } from "../lib/io/checkpoint.ts";
import { type DomainJob, methodGraphs } from "../lib/train/domain.ts";

/** `n` 3×32×32 images of 3 classes (sinusoids by class), deterministic in `seed`. */
export function synthetic(n: number, seed: number): Dataset {
  const images = new Uint8Array(n * 3 * 32 * 32);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let k = 0; k < 3 * 32 * 32; k++) {
      images[i * 3072 + k] = (Math.sin(k * (labels[i] + 1) * 0.01 + seed * 7 + i) * 60 + 128) |
        0;
    }
  }
  return {
    name: "fashion",
    classes: ["a", "b", "c"],
    images,
    labels,
    shape: [3, 32, 32],
    source: "test",
  };
}

/** A seeded ResNet-20 backbone without its head. */
export const backbone: Map<string, Float32Array> = new Map(
  [...initParams(methodGraphs("finetune", 3, 2).train.graph, 7)].filter(([k]) =>
    !k.startsWith("fc.")
  ),
);

/** Its hash. */
export const backboneHash: string = await hashParams(backbone);

/** DA³ on the synthetic domain, 1 epoch of 2 steps, writing to `out`. */
export function job(out: string, over: Partial<DomainJob> = {}): DomainJob {
  return {
    method: "da3",
    domain: "fashion",
    train: synthetic(8, 1),
    test: synthetic(6, 2),
    backbone,
    backboneHash,
    runtime: cpuRuntime,
    epochs: 1,
    batch: 4,
    lr: 1e-2,
    optimizer: "adam",
    seed: 3,
    out,
    resume: false,
    progress: () => {},
    ...over,
  };
}

/** Every file under `dir` (names and bytes), to check that nothing changed. */
export async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * `runtime`, except that from its `at`-th execution on (1-based) the
 * parameter `name` holds a NaN at element 0: a weight gone bad mid-run.
 */
export function injectingNaN(runtime: Runtime, name: string, at: number): Runtime {
  let calls = 0;
  return {
    name: runtime.name,
    target: runtime.target,
    prepare: (plan) => runtime.prepare(plan),
    release: (plan) => runtime.release(plan),
    readParams: (names, params) => runtime.readParams(names, params),
    execute(plan, feeds) {
      if (++calls < at || !feeds.params.has(name)) return runtime.execute(plan, feeds);
      const bad = (feeds.params.get(name) as Float32Array).slice();
      bad[0] = NaN;
      return runtime.execute(plan, { ...feeds, params: new Map([...feeds.params, [name, bad]]) });
    },
  };
}

/**
 * `runtime`, except that from its `at`-th execution on (1-based) it reports a
 * finite loss of 1 while the last output (a gradient) holds a NaN: a device
 * whose loss hides a NaN.
 */
export function hidingNaN(runtime: Runtime, at: number): Runtime {
  let calls = 0;
  return {
    name: runtime.name,
    target: runtime.target,
    prepare: (plan) => runtime.prepare(plan),
    release: (plan) => runtime.release(plan),
    readParams: (names, params) => runtime.readParams(names, params),
    async execute(plan, feeds) {
      const out = await runtime.execute(plan, feeds);
      if (++calls < at || plan.outputs.length < 3) return out;
      out[0] = Float32Array.of(1);
      const last = out.length - 1;
      out[last] = (out[last] as Float32Array).slice();
      out[last][0] = NaN;
      return out;
    },
  };
}
