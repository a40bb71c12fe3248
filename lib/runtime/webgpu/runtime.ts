/**
 * The WebGPU runtime: compiles each node to cached WGSL pipelines, places
 * values in one arena buffer (bindings by offset), uploads parameters once
 * per array, records every dispatch of a step in one command encoder and
 * reads back only the graph's outputs.
 * @module
 */
import {
  byteSize,
  type Graph,
  isTrainable,
  params,
  showShape,
  type Tensor,
} from "../../graph/mod.ts";
import { checkFeed } from "../cpu/execute.ts";
import { allocate, type Feeds, type Runtime, type TensorData } from "../data.ts";
import { requestDevice } from "./device.ts";
import { DeviceLostError, KernelError, LimitError } from "./errors.ts";
import { type BatchSplit, batchSplit, sliceRange } from "./batch_split.ts";
import { lower } from "./lower.ts";
import { paramVersion } from "./param_version.ts";
import { addExecution, type OpProfile } from "./profile.ts";
import {
  bindingBytes,
  deviceValues,
  type Placement,
  planPlacer,
  separatePlacement,
} from "./placement.ts";

/** True when `DA3_WEBGPU_DEBUG` is set (and readable). */
function debugSteps(): boolean {
  try {
    return Boolean(Deno.env.get("DA3_WEBGPU_DEBUG"));
  } catch {
    return false;
  }
}

/** Chooses where a graph's values live, given the device's offset alignment. */
export type Placer = (g: Graph, alignment: number) => Placement;

/** Options of {@linkcode createWebGpuRuntime}. */
export interface WebGpuRuntimeOptions {
  /** Use this device instead of requesting one. */
  readonly device?: GPUDevice;
  /** Passed to `requestAdapter` (default "high-performance"). */
  readonly powerPreference?: GPUPowerPreference;
  /** Arena placement (default: da3's planner, {@linkcode planPlacer}). */
  readonly placer?: Placer;
  /** Upload trainable parameters at every execution (default true: optimizers update them). */
  readonly reuploadTrainable?: boolean;
  /** Prepared graphs kept with their buffers (default 4; the oldest is released first). */
  readonly maxCachedGraphs?: number;
  /**
   * Largest binding in bytes (default and at most the device's
   * `maxStorageBufferBindingSize`); larger values run in batch slices.
   */
  readonly maxBindingBytes?: number;
  /**
   * Time every op on the device with timestamp queries (each op in its own
   * compute pass, which costs a little); read with `profile()`. Needs the
   * device feature `timestamp-query`.
   */
  readonly profile?: boolean;
}

/** A WebGPU {@linkcode Runtime} with device-side caches. */
export interface WebGpuRuntime extends Runtime {
  /** The device it runs on. */
  readonly device: GPUDevice;
  /** Compiles the pipelines and allocates the buffers of `g` ahead of its first execution. */
  prepare(g: Graph): Promise<void>;
  /** Forgets uploaded parameters (all, or the named ones) so they are uploaded again. */
  invalidateParams(names?: Iterable<string>): void;
  /** Releases the buffers of one prepared graph. */
  release(g: Graph): void;
  /** Releases every buffer and the device. */
  destroy(): void;
  /** GPU time per op and shapes since creation or the last reset (with the `profile` option). */
  profile(): OpProfile[];
  /** Clears the accumulated profile. */
  resetProfile(): void;
}

interface Slot {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

interface Step {
  readonly node: Tensor;
  readonly pipelines: readonly GPUComputePipeline[];
  readonly dispatches: readonly (readonly [number, number, number])[];
  readonly scratch: boolean;
  /** How the node runs in batch slices (null: in one piece). */
  readonly split: BatchSplit | null;
  /** One bind group per slice (one without a split); empty until bound. */
  bindGroups: GPUBindGroup[];
}

interface Prepared {
  readonly steps: readonly Step[];
  readonly slots: ReadonlyMap<Tensor, Slot>;
  readonly owned: readonly GPUBuffer[];
  readonly scratch: Slot | null;
  readonly staging: GPUBuffer;
  readonly stagingOffsets: readonly number[];
  boundParams: Map<string, GPUBuffer>;
}

/** The timestamp queries of one profiled execution. */
interface Timing {
  readonly querySet: GPUQuerySet;
  readonly resolved: GPUBuffer;
  readonly readback: GPUBuffer;
}

interface ParamEntry {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  source: Float32Array | null;
  version: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function describe(t: Tensor): string {
  const name = t.op === "input" || t.op === "param" ? ` "${t.attrs.name}"` : "";
  return `${t.op}${name} ${t.dtype}${showShape(t.shape)}`;
}

/** Records a step's dispatches, slice by slice. */
function encodeStep(pass: GPUComputePassEncoder, s: Step): void {
  for (const group of s.bindGroups) {
    pass.setBindGroup(0, group);
    s.pipelines.forEach((p, k) => {
      pass.setPipeline(p);
      pass.dispatchWorkgroups(...s.dispatches[k]);
    });
  }
}

/** The bindings of slice `k`: batched operands narrowed to the slice's bytes. */
function sliceSlots(n: Tensor, split: BatchSplit, whole: readonly Slot[], k: number): Slot[] {
  const operands = [...n.inputs, n];
  return whole.map((slot, i) => {
    if (i < n.inputs.length && !split.sliced[i]) return slot;
    const r = sliceRange(operands[i], split.batch, k);
    return { buffer: slot.buffer, offset: slot.offset + r.offset, size: r.size };
  });
}

/** A typed array's bytes padded to whole `u32` words (writeBuffer needs multiples of 4). */
function wordBytes(a: TensorData): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
  if (bytes.byteLength % 4 === 0 && bytes.byteLength > 0) return bytes;
  const padded = new Uint8Array(Math.max(4, Math.ceil(bytes.byteLength / 4) * 4));
  padded.set(bytes);
  return padded;
}

/** Creates a WebGPU runtime; throws NoAdapterError when no adapter is available. */
export async function createWebGpuRuntime(
  options: WebGpuRuntimeOptions = {},
): Promise<WebGpuRuntime> {
  const device = options.device ?? (await requestDevice(options.powerPreference)).device;
  return new GpuRuntime(device, options);
}

/** How long a failed step waits for `device.lost` to tell a lost device from another failure. */
const LOST_WAIT_MS = 3000;
/** The names of the exceptions WebGPU calls reject with (on a lost device among others). */
const WEBGPU_FAILURES = new Set(["OperationError", "AbortError"]);

class GpuRuntime implements WebGpuRuntime {
  readonly name = "webgpu";
  readonly device: GPUDevice;
  readonly #options: WebGpuRuntimeOptions;
  readonly #pipelines = new Map<string, Promise<GPUComputePipeline>>();
  readonly #layouts = new Map<number, GPUBindGroupLayout>();
  readonly #prepared = new Map<Graph, Promise<Prepared>>();
  readonly #params = new Map<string, ParamEntry>();
  #lost: GPUDeviceLostInfo | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #profile = new Map<string, OpProfile>();

  constructor(device: GPUDevice, options: WebGpuRuntimeOptions) {
    if (options.profile && !device.features.has("timestamp-query")) {
      throw new KernelError("profile", "the device lacks the timestamp-query feature");
    }
    this.device = device;
    this.#options = options;
    device.lost.then((info) => (this.#lost = info));
  }

  #checkLost(): void {
    if (this.#lost) throw new DeviceLostError(this.#lost.reason ?? "unknown", this.#lost.message);
  }

  /**
   * Rethrows `e`, as a DeviceLostError when the device was lost: a device
   * destroyed mid-step fails the step's WebGPU calls with a plain
   * `OperationError` some milliseconds before `device.lost` settles.
   */
  async #lostOr(e: unknown): Promise<never> {
    if (!this.#lost && WEBGPU_FAILURES.has((e as Error)?.name)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.device.lost,
        new Promise((r) => (timer = setTimeout(r, LOST_WAIT_MS))),
      ]);
      clearTimeout(timer);
      await Promise.resolve();
    }
    this.#checkLost();
    throw e;
  }

  #layout(count: number) {
    let l = this.#layouts.get(count);
    if (!l) {
      l = this.device.createBindGroupLayout({
        entries: Array.from({ length: count }, (_, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "storage" as const },
        })),
      });
      this.#layouts.set(count, l);
    }
    return l;
  }

  #pipeline(name: string, code: string, bindings: number): Promise<GPUComputePipeline> {
    const key = `${bindings}\n${code}`;
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: name, code });
      p = this.device.createComputePipelineAsync({
        label: name,
        // A pipeline layout of its own: wgpu refreshes the late-sized binding
        // checks of a compute pass only when the pipeline layout changes.
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.#layout(bindings)] }),
        compute: { module, entryPoint: "main" },
      }).catch((e: unknown) => {
        this.#pipelines.delete(key);
        throw new KernelError(name, `${e instanceof Error ? e.message : e}\n${code}`);
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  #maxBinding(): number {
    const device = this.device.limits.maxStorageBufferBindingSize;
    return Math.min(device, this.#options.maxBindingBytes ?? device);
  }

  #limitCheck(t: Tensor, bytes: number): void {
    const max = this.#maxBinding();
    if (bytes > max) throw new LimitError(describe(t), bytes, "maxStorageBufferBindingSize", max);
  }

  /** The batch split `n` needs to fit the binding limit, or null; LimitError when it cannot be split. */
  #splitOf(n: Tensor, alignment: number): BatchSplit | null {
    const max = this.#maxBinding();
    const big = [...n.inputs, n].filter((v) => v.op !== "param" && bindingBytes(v) > max);
    if (big.length === 0) return null;
    const split = batchSplit(n, max, alignment);
    if (!split) {
      throw new LimitError(
        `${describe(big[0])} (read or written by ${n.op}, which cannot run in batch slices)`,
        bindingBytes(big[0]),
        "maxStorageBufferBindingSize",
        max,
      );
    }
    return split;
  }

  #buffer(label: string, size: number, usage = STORAGE): GPUBuffer {
    return this.device.createBuffer({ label, size: Math.max(4, size), usage });
  }

  async #prepare(g: Graph): Promise<Prepared> {
    const limits = this.device.limits;
    const alignment = limits.minStorageBufferOffsetAlignment;
    const values = deviceValues(g);
    for (const p of params(g)) this.#limitCheck(p, bindingBytes(p));
    let placement = (this.#options.placer ?? planPlacer)(g, alignment);
    if (placement.arenaBytes > limits.maxBufferSize) placement = separatePlacement();
    const owned: GPUBuffer[] = [];
    const slots = new Map<Tensor, Slot>();
    const arena = placement.arenaBytes > 0 ? this.#buffer("da3 arena", placement.arenaBytes) : null;
    if (arena) owned.push(arena);
    for (const t of values) {
      const size = bindingBytes(t);
      const offset = placement.offsets.get(t);
      if (arena && offset !== undefined) slots.set(t, { buffer: arena, offset, size });
      else {
        const buffer = this.#buffer(describe(t), size);
        owned.push(buffer);
        slots.set(t, { buffer, offset: 0, size });
      }
    }
    const order = placement.order ?? values.filter((t) => t.op !== "input");
    const lowered = order.map((n) => {
      const split = this.#splitOf(n, alignment);
      return { n, split, l: lower(split?.proxy ?? n) };
    });
    const scratchBytes = Math.max(0, ...lowered.map(({ l }) => l.scratchBytes));
    let scratch: Slot | null = null;
    if (scratchBytes > 0) {
      const size = Math.ceil(scratchBytes / 4) * 4;
      const buffer = this.#buffer("da3 scratch", size);
      owned.push(buffer);
      scratch = { buffer, offset: 0, size };
    }
    const steps = await Promise.all(lowered.map(async ({ n, split, l }): Promise<Step> => {
      const count = n.inputs.length + 1 + (l.scratchBytes > 0 ? 1 : 0);
      const pipelines = await Promise.all(
        l.kernels.map((k) => this.#pipeline(k.name, k.code, count)),
      );
      return {
        node: n,
        pipelines,
        dispatches: l.kernels.map((k) => k.dispatch),
        scratch: l.scratchBytes > 0,
        split,
        bindGroups: [],
      };
    }));
    const stagingOffsets: number[] = [];
    let end = 0;
    for (const o of g.outputs) {
      stagingOffsets.push(end);
      if (o.op !== "param") end += bindingBytes(o);
    }
    const staging = this.#buffer(
      "da3 readback",
      end,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    );
    owned.push(staging);
    return { steps, slots, owned, scratch, staging, stagingOffsets, boundParams: new Map() };
  }

  #preparedOf(g: Graph): Promise<Prepared> {
    let p = this.#prepared.get(g);
    if (!p) {
      p = this.#prepare(g);
      this.#prepared.set(g, p);
      p.catch(() => this.#prepared.delete(g));
      const max = this.#options.maxCachedGraphs ?? 4;
      for (const old of this.#prepared.keys()) {
        if (this.#prepared.size <= max) break;
        this.release(old);
      }
    }
    return p;
  }

  /** Uploads the parameters `g` reads where the device copy is stale. */
  #uploadParams(g: Graph, feeds: Feeds): void {
    const always = this.#options.reuploadTrainable ?? true;
    for (const p of params(g)) {
      const name = String(p.attrs.name);
      const a = checkFeed(p, "param", feeds.params.get(name)) as Float32Array;
      const bytes = byteSize(p.shape, "f32");
      let e = this.#params.get(name);
      if (!e || e.bytes !== bytes) {
        e?.buffer.destroy();
        e = { buffer: this.#buffer(`param ${name}`, bytes), bytes, source: null, version: -1 };
        this.#params.set(name, e);
      }
      const version = paramVersion(a);
      if (e.source !== a || e.version !== version || (always && isTrainable(p))) {
        this.device.queue.writeBuffer(e.buffer, 0, a as Float32Array<ArrayBuffer>);
        e.source = a;
        e.version = version;
      }
    }
  }

  #slotOf(prep: Prepared, t: Tensor): Slot {
    if (t.op === "param") {
      const e = this.#params.get(String(t.attrs.name))!;
      return { buffer: e.buffer, offset: 0, size: e.bytes };
    }
    return prep.slots.get(t)!;
  }

  /** (Re)creates bind groups when parameter buffers changed since they were built. */
  #bind(g: Graph, prep: Prepared): void {
    const now = new Map(
      params(g).map((p) => {
        const name = String(p.attrs.name);
        return [name, this.#params.get(name)!.buffer] as const;
      }),
    );
    const stale = prep.steps.some((s) => s.bindGroups.length === 0) ||
      [...now].some(([k, b]) => prep.boundParams.get(k) !== b);
    if (!stale) return;
    for (const s of prep.steps) {
      const whole = [...s.node.inputs.map((t) => this.#slotOf(prep, t)), prep.slots.get(s.node)!];
      const parts = s.split?.parts ?? 1;
      s.bindGroups = Array.from({ length: parts }, (_, k) => {
        const slots = s.split ? sliceSlots(s.node, s.split, whole, k) : [...whole];
        if (s.scratch) slots.push(prep.scratch!);
        return this.device.createBindGroup({
          label: s.node.op,
          layout: this.#layout(slots.length),
          entries: slots.map((sl, binding) => ({
            binding,
            resource: { buffer: sl.buffer, offset: sl.offset, size: sl.size },
          })),
        });
      });
    }
    prep.boundParams = now;
  }

  /** Runs each step in its own submission and names the first one that fails validation (`DA3_WEBGPU_DEBUG=1`). */
  async #debugSteps(prep: Prepared): Promise<void> {
    for (const s of prep.steps) {
      this.device.pushErrorScope("validation");
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      encodeStep(pass, s);
      pass.end();
      this.device.queue.submit([encoder.finish()]);
      const err = await this.device.popErrorScope();
      if (err) {
        const args = s.node.inputs.map((t) => `${t.op}${JSON.stringify(t.shape)}`).join(", ");
        throw new KernelError(s.node.op, `${err.message} (${s.node.op}(${args}))`);
      }
    }
  }

  async #run(g: Graph, feeds: Feeds): Promise<TensorData[]> {
    this.#checkLost();
    const prep = await this.#preparedOf(g);
    const device = this.device;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    for (const t of prep.slots.keys()) {
      if (t.op !== "input") continue;
      const a = checkFeed(t, "input", feeds.inputs[String(t.attrs.name)]);
      const slot = prep.slots.get(t)!;
      device.queue.writeBuffer(slot.buffer, slot.offset, wordBytes(a));
    }
    this.#uploadParams(g, feeds);
    this.#bind(g, prep);
    if (debugSteps()) await this.#debugSteps(prep);
    const encoder = device.createCommandEncoder({ label: "da3 step" });
    const timing = this.#options.profile ? this.#encodeTimed(encoder, prep.steps) : null;
    if (!timing) {
      const pass = encoder.beginComputePass();
      for (const s of prep.steps) encodeStep(pass, s);
      pass.end();
    }
    g.outputs.forEach((o, i) => {
      if (o.op === "param") return;
      const slot = prep.slots.get(o)!;
      encoder.copyBufferToBuffer(
        slot.buffer,
        slot.offset,
        prep.staging,
        prep.stagingOffsets[i],
        slot.size,
      );
    });
    device.queue.submit([encoder.finish()]);
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const err = validation ?? oom;
    if (err) throw new KernelError("execute", err.message);
    if (timing) await this.#readTimes(timing, prep.steps);
    try {
      await prep.staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.#checkLost();
      throw e;
    }
    try {
      const mapped = prep.staging.getMappedRange();
      return g.outputs.map((o, i) => {
        if (o.op === "param") return checkFeed(o, "param", feeds.params.get(String(o.attrs.name)));
        const out = allocate(o.shape, o.dtype);
        const bytes = byteSize(o.shape, o.dtype);
        new Uint8Array(out.buffer).set(new Uint8Array(mapped, prep.stagingOffsets[i], bytes));
        return out;
      });
    } finally {
      prep.staging.unmap();
    }
  }

  /** Encodes each step in its own timestamped pass; returns the query objects to read and free. */
  #encodeTimed(encoder: GPUCommandEncoder, steps: readonly Step[]): Timing {
    const count = 2 * steps.length;
    const querySet = this.device.createQuerySet({ type: "timestamp", count });
    steps.forEach((s, i) => {
      const pass = encoder.beginComputePass({
        timestampWrites: {
          querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      encodeStep(pass, s);
      pass.end();
    });
    const resolved = this.device.createBuffer({
      size: 8 * count,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = this.device.createBuffer({
      size: 8 * count,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, 8 * count);
    return { querySet, resolved, readback };
  }

  async #readTimes(t: Timing, steps: readonly Step[]): Promise<void> {
    try {
      await t.readback.mapAsync(GPUMapMode.READ);
      addExecution(
        this.#profile,
        steps.map((s) => s.node),
        new BigUint64Array(t.readback.getMappedRange().slice(0)),
      );
    } finally {
      t.readback.destroy();
      t.resolved.destroy();
      t.querySet.destroy();
    }
  }

  profile(): OpProfile[] {
    return [...this.#profile.values()].sort((a, b) => b.ms - a.ms);
  }

  resetProfile(): void {
    this.#profile.clear();
  }

  execute(g: Graph, feeds: Feeds): Promise<TensorData[]> {
    const result = this.#queue.then(() => this.#run(g, feeds)).catch((e) => this.#lostOr(e));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async prepare(g: Graph): Promise<void> {
    await this.#preparedOf(g);
  }

  invalidateParams(names?: Iterable<string>): void {
    const which = names ? [...names] : [...this.#params.keys()];
    for (const n of which) {
      const e = this.#params.get(n);
      if (e) e.source = null;
    }
  }

  release(g: Graph): void {
    const p = this.#prepared.get(g);
    this.#prepared.delete(g);
    p?.then((prep) => prep.owned.forEach((b) => b.destroy()), () => undefined);
  }

  destroy(): void {
    for (const g of [...this.#prepared.keys()]) this.release(g);
    for (const e of this.#params.values()) e.buffer.destroy();
    this.#params.clear();
    this.device.destroy();
  }
}
