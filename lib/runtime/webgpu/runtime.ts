/**
 * The WebGPU runtime: executes a plan at its offsets. Every arena value is a
 * binding at its planned offset in one arena buffer of `arenaBytes` (values
 * computed in place share their input's bytes); persistent values
 * (trainable gradients) get a buffer each, parameters one buffer per name
 * uploaded when stale. Each node compiles to cached WGSL pipelines, bound in
 * batch slices when a value exceeds the plan target's binding limit; every
 * dispatch of a step is recorded in one command encoder and only the
 * outputs are read back. Optimizer updates write their parameter and state
 * buffers in place: from then on the device holds the newer values (they
 * are not uploaded again unless the host hands another array or marks it
 * changed) and `readParams` reads them back.
 * @module
 */
import {
  byteSize,
  checkQuantizedReads,
  isTrainable,
  showShape,
  storedBytes,
  type Tensor,
  updateState,
} from "../../graph/mod.ts";
import {
  isParamCategory,
  type Plan,
  type PlannedValue,
  type PlanTarget,
} from "../../plan/types.ts";
import { checkFeed, checkParam } from "../cpu/execute.ts";
import {
  allocate,
  type Feeds,
  type ParamValue,
  PlanError,
  type Runtime,
  type TensorData,
} from "../data.ts";
import { gpuPieces, isQuantizedTensor } from "../quantized.ts";
import { requestDevice } from "./device.ts";
import { DeviceLostError, KernelError, LimitError } from "./errors.ts";
import { type BatchSplit, batchSplit, sliceRange } from "./batch_split.ts";
import { lower } from "./lower.ts";
import { paramVersion } from "./param_version.ts";
import { addExecution, type OpProfile } from "./profile.ts";

/** True when `DA3_WEBGPU_DEBUG` is set (and readable). */
function debugSteps(): boolean {
  try {
    return Boolean(Deno.env.get("DA3_WEBGPU_DEBUG"));
  } catch {
    return false;
  }
}

/** The alignment WebGPU guarantees every device accepts: the default `minStorageBufferOffsetAlignment`. */
const PORTABLE_ALIGNMENT = 256;

/** Options of {@linkcode createWebGpuRuntime}. */
export interface WebGpuRuntimeOptions {
  /** Use this device instead of requesting one. */
  readonly device?: GPUDevice;
  /** Passed to `requestAdapter` (default "high-performance"). */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * Upload trainable parameters at every execution (default true: a host
   * optimizer updates them), except those an update op of a plan has
   * written on the device, which are uploaded only when the host hands
   * another array or marks it changed.
   */
  readonly reuploadTrainable?: boolean;
  /** Prepared plans kept with their buffers (default 4; the oldest is released first). */
  readonly maxCachedPlans?: number;
  /**
   * Offset alignment of the runtime's target: a multiple of the device's
   * `minStorageBufferOffsetAlignment` (default 256, which every device
   * accepts, so plans and their bytes are the same on every device and on
   * the CPU).
   */
  readonly alignment?: number;
  /**
   * Largest binding in bytes of the runtime's target (default and at most
   * the device's `maxStorageBufferBindingSize`); larger values run in batch
   * slices.
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
  /** Forgets uploaded parameters (all, or the named ones) so they are uploaded again. */
  invalidateParams(names?: Iterable<string>): void;
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

/** A computed node's dispatches. */
interface Step {
  readonly kind: "compute";
  readonly node: Tensor;
  /** Its value's index in the plan. */
  readonly index: number;
  readonly pipelines: readonly GPUComputePipeline[];
  readonly dispatches: readonly (readonly [number, number, number])[];
  readonly scratch: boolean;
  /** How the node runs in batch slices (null: in one piece). */
  readonly split: BatchSplit | null;
  /** One bind group per slice (one without a split); empty until bound. */
  bindGroups: GPUBindGroup[];
}

/**
 * A fed input whose arena bytes an earlier step still uses: its data waits
 * in the upload buffer and is copied into the arena at its own step.
 */
interface Upload {
  readonly kind: "upload";
  readonly index: number;
  /** Offset of its data in the upload buffer. */
  readonly from: number;
}

interface Prepared {
  readonly steps: readonly (Step | Upload)[];
  readonly slots: ReadonlyMap<number, Slot>;
  readonly owned: readonly GPUBuffer[];
  readonly scratch: Slot | null;
  /** Staged inputs' data (null when every input can be written before the first step). */
  readonly upload: GPUBuffer | null;
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
  source: ParamValue | null;
  version: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function describe(t: Tensor): string {
  const name = t.op === "input" || t.op === "param" ? ` "${t.attrs.name}"` : "";
  return `${t.op}${name} ${t.dtype}${showShape(t.shape)}`;
}

/**
 * Bytes a value's binding spans: its size rounded up to whole `u32` words,
 * at least one; a reduced-precision param's packed words and scales.
 */
export function bindingBytes(t: Tensor): number {
  return Math.max(4, Math.ceil(storedBytes(t) / 4) * 4);
}

/**
 * True when no value computed before input `v`'s step uses any of its arena
 * bytes, so its data can be written before the first step.
 */
function writableUpFront(plan: Plan, v: PlannedValue): boolean {
  const lo = v.offset!, hi = lo + bindingBytes(plan.tensors[v.index]);
  return plan.values.every((u) =>
    u.index === v.index || u.offset === null || u.firstWrite >= v.firstWrite ||
    u.offset >= hi || u.offset + bindingBytes(plan.tensors[u.index]) <= lo
  );
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

/** True for a value with bytes of its own on the device (not a parameter, state or update). */
function onDevice(v: PlannedValue): boolean {
  return !isParamCategory(v.category) && v.category !== "update";
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

/** The target of a runtime on `device`: see {@linkcode WebGpuRuntimeOptions}. */
function targetOf(device: GPUDevice, options: WebGpuRuntimeOptions): PlanTarget {
  const l = device.limits;
  const alignment = options.alignment ??
    Math.max(PORTABLE_ALIGNMENT, l.minStorageBufferOffsetAlignment);
  if (!Number.isInteger(alignment) || alignment % l.minStorageBufferOffsetAlignment !== 0) {
    throw new RangeError(
      `webgpu: alignment ${alignment} is not a multiple of the device's minStorageBufferOffsetAlignment ${l.minStorageBufferOffsetAlignment}`,
    );
  }
  const max = l.maxStorageBufferBindingSize;
  return { alignment, maxBindingBytes: Math.min(max, options.maxBindingBytes ?? max) };
}

class GpuRuntime implements WebGpuRuntime {
  readonly name = "webgpu";
  readonly device: GPUDevice;
  readonly target: PlanTarget;
  readonly #options: WebGpuRuntimeOptions;
  readonly #pipelines = new Map<string, Promise<GPUComputePipeline>>();
  readonly #layouts = new Map<number, GPUBindGroupLayout>();
  readonly #prepared = new Map<Plan, Promise<Prepared>>();
  readonly #params = new Map<string, ParamEntry>();
  /** Parameters (and state) an update has written on the device: their host arrays are older. */
  readonly #written = new Set<string>();
  #lost: GPUDeviceLostInfo | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #profile = new Map<string, OpProfile>();

  constructor(device: GPUDevice, options: WebGpuRuntimeOptions) {
    if (options.profile && !device.features.has("timestamp-query")) {
      throw new KernelError("profile", "the device lacks the timestamp-query feature");
    }
    this.device = device;
    this.target = targetOf(device, options);
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

  /** Throws PlanError unless `plan` was made for a target this device can run. */
  #checkTarget(plan: Plan): void {
    const l = this.device.limits;
    const t = plan.target;
    const hint = "plan the graph with planGraph(g, runtime.target)";
    if (plan.alignment % l.minStorageBufferOffsetAlignment !== 0) {
      throw new PlanError(
        `webgpu: the plan's ${plan.alignment}-byte alignment is not a multiple of the device's minStorageBufferOffsetAlignment ${l.minStorageBufferOffsetAlignment}; ${hint}`,
      );
    }
    if (t.maxBindingBytes > l.maxStorageBufferBindingSize) {
      throw new PlanError(
        `webgpu: the plan's binding limit ${t.maxBindingBytes} exceeds the device's maxStorageBufferBindingSize ${l.maxStorageBufferBindingSize}; ${hint}`,
      );
    }
    if (plan.arenaBytes > l.maxBufferSize) {
      throw new LimitError("the plan's arena", plan.arenaBytes, "maxBufferSize", l.maxBufferSize);
    }
  }

  /** The batch split `n` needs to fit the plan's binding limit, or null; LimitError when it cannot be split. */
  #splitOf(n: Tensor, max: number): BatchSplit | null {
    const big = [...n.inputs, n].filter((v) => v.op !== "param" && bindingBytes(v) > max);
    if (big.length === 0) return null;
    const split = batchSplit(n, max, this.device.limits.minStorageBufferOffsetAlignment);
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

  async #prepare(plan: Plan): Promise<Prepared> {
    this.#checkTarget(plan);
    try {
      checkQuantizedReads(plan.tensors, plan.outputs.map((i) => plan.tensors[i]));
    } catch (e) {
      throw new PlanError(`webgpu: ${(e as Error).message}`);
    }
    const max = plan.target.maxBindingBytes;
    const weights = plan.values.filter((v) => isParamCategory(v.category));
    for (const w of weights) {
      const p = plan.tensors[w.index];
      const bytes = bindingBytes(p);
      if (bytes > max) throw new LimitError(describe(p), bytes, "maxStorageBufferBindingSize", max);
    }
    const owned: GPUBuffer[] = [];
    const slots = new Map<number, Slot>();
    const arena = plan.arenaBytes > 0 ? this.#buffer("da3 arena", plan.arenaBytes) : null;
    if (arena) owned.push(arena);
    for (const v of plan.values) {
      if (isParamCategory(v.category) || v.category === "update") continue;
      const t = plan.tensors[v.index];
      const size = bindingBytes(t);
      if (v.offset !== null) slots.set(v.index, { buffer: arena!, offset: v.offset, size });
      else {
        const buffer = this.#buffer(describe(t), size);
        owned.push(buffer);
        slots.set(v.index, { buffer, offset: 0, size });
      }
    }
    let uploadBytes = 0;
    const planned = plan.schedule.map((i) => {
      const n = plan.tensors[i];
      if (n.op !== "input") {
        const split = this.#splitOf(n, max);
        return { kind: "compute" as const, i, n, split, l: lower(split?.proxy ?? n) };
      }
      if (writableUpFront(plan, plan.values[i])) return null;
      const from = uploadBytes;
      uploadBytes += bindingBytes(n);
      return { kind: "upload" as const, index: i, from };
    });
    const scratchBytes = Math.max(
      0,
      ...planned.map((p) => (p?.kind === "compute" ? p.l.scratchBytes : 0)),
    );
    let scratch: Slot | null = null;
    if (scratchBytes > 0) {
      const size = Math.ceil(scratchBytes / 4) * 4;
      const buffer = this.#buffer("da3 scratch", size);
      owned.push(buffer);
      scratch = { buffer, offset: 0, size };
    }
    let upload: GPUBuffer | null = null;
    if (uploadBytes > 0) {
      upload = this.#buffer(
        "da3 upload",
        uploadBytes,
        GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      );
      owned.push(upload);
    }
    const steps = await Promise.all(
      planned.filter((p) => p !== null).map(async (p): Promise<Step | Upload> => {
        if (p.kind === "upload") return p;
        const { i, n, split, l } = p;
        const count = n.inputs.length + 1 + (l.scratchBytes > 0 ? 1 : 0);
        const pipelines = await Promise.all(
          l.kernels.map((k) => this.#pipeline(k.name, k.code, count)),
        );
        return {
          kind: "compute",
          node: n,
          index: i,
          pipelines,
          dispatches: l.kernels.map((k) => k.dispatch),
          scratch: l.scratchBytes > 0,
          split,
          bindGroups: [],
        };
      }),
    );
    const stagingOffsets: number[] = [];
    let end = 0;
    for (const i of plan.outputs) {
      stagingOffsets.push(end);
      if (onDevice(plan.values[i])) end += bindingBytes(plan.tensors[i]);
    }
    const staging = this.#buffer(
      "da3 readback",
      end,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    );
    owned.push(staging);
    return {
      steps,
      slots,
      owned,
      scratch,
      upload,
      staging,
      stagingOffsets,
      boundParams: new Map(),
    };
  }

  #preparedOf(plan: Plan): Promise<Prepared> {
    let p = this.#prepared.get(plan);
    if (!p) {
      p = this.#prepare(plan);
      this.#prepared.set(plan, p);
      p.catch(() => this.#prepared.delete(plan));
      const max = this.#options.maxCachedPlans ?? 4;
      for (const old of this.#prepared.keys()) {
        if (this.#prepared.size <= max) break;
        this.release(old);
      }
    }
    return p;
  }

  /** The parameters a plan reads. */
  #paramsOf(plan: Plan): Tensor[] {
    return plan.values.filter((v) => isParamCategory(v.category)).map((v) => plan.tensors[v.index]);
  }

  /** Uploads the parameters `plan` reads where the device copy is stale. */
  #uploadParams(plan: Plan, feeds: Feeds): void {
    const always = this.#options.reuploadTrainable ?? true;
    for (const p of this.#paramsOf(plan)) {
      const name = String(p.attrs.name);
      const a = checkParam(p, feeds.params.get(name));
      const bytes = bindingBytes(p);
      let e = this.#params.get(name);
      if (!e || e.bytes !== bytes) {
        e?.buffer.destroy();
        e = { buffer: this.#buffer(`param ${name}`, bytes), bytes, source: null, version: -1 };
        this.#params.set(name, e);
      }
      const version = isQuantizedTensor(a) ? 0 : paramVersion(a);
      const reupload = always && isTrainable(p) && !this.#written.has(name);
      if (e.source !== a || e.version !== version || reupload) {
        if (isQuantizedTensor(a)) {
          for (const [at, b] of gpuPieces(a)) {
            this.device.queue.writeBuffer(e.buffer, at, b as Uint8Array<ArrayBuffer>);
          }
        } else this.device.queue.writeBuffer(e.buffer, 0, a as Float32Array<ArrayBuffer>);
        e.source = a;
        e.version = version;
      }
    }
  }

  #slotOf(prep: Prepared, t: Tensor, index: number): Slot {
    if (t.op === "param") {
      const e = this.#params.get(String(t.attrs.name))!;
      return { buffer: e.buffer, offset: 0, size: e.bytes };
    }
    return prep.slots.get(index)!;
  }

  /** (Re)creates bind groups when parameter buffers changed since they were built. */
  #bind(plan: Plan, prep: Prepared): void {
    const now = new Map(
      this.#paramsOf(plan).map((p) => {
        const name = String(p.attrs.name);
        return [name, this.#params.get(name)!.buffer] as const;
      }),
    );
    const compute = prep.steps.filter((s): s is Step => s.kind === "compute");
    const stale = compute.some((s) => s.bindGroups.length === 0) ||
      [...now].some(([k, b]) => prep.boundParams.get(k) !== b);
    if (!stale) return;
    for (const s of compute) {
      const args = plan.values[s.index].inputs;
      const inputs = s.node.inputs.map((t, k) => this.#slotOf(prep, t, args[k]));
      // An update's output binding is its parameter's buffer (written through binding 0).
      const whole = [
        ...inputs,
        plan.values[s.index].category === "update" ? inputs[0] : prep.slots.get(s.index)!,
      ];
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

  /** Records a staged input's copy from the upload buffer into its arena bytes. */
  #encodeUpload(encoder: GPUCommandEncoder, prep: Prepared, u: Upload): void {
    const slot = prep.slots.get(u.index)!;
    encoder.copyBufferToBuffer(prep.upload!, u.from, slot.buffer, slot.offset, slot.size);
  }

  /** Runs each step in its own submission and names the first one that fails validation (`DA3_WEBGPU_DEBUG=1`). */
  async #debugSteps(prep: Prepared): Promise<void> {
    for (const s of prep.steps) {
      this.device.pushErrorScope("validation");
      const encoder = this.device.createCommandEncoder();
      if (s.kind === "upload") this.#encodeUpload(encoder, prep, s);
      else {
        const pass = encoder.beginComputePass();
        encodeStep(pass, s);
        pass.end();
      }
      this.device.queue.submit([encoder.finish()]);
      const err = await this.device.popErrorScope();
      if (err && s.kind === "compute") {
        const args = s.node.inputs.map((t) => `${t.op}${JSON.stringify(t.shape)}`).join(", ");
        throw new KernelError(s.node.op, `${err.message} (${s.node.op}(${args}))`);
      }
      if (err) throw new KernelError("upload", err.message);
    }
  }

  /** Writes the fed inputs: straight into the arena when no earlier step uses their bytes, else into the upload buffer. */
  #writeInputs(plan: Plan, prep: Prepared, feeds: Feeds): void {
    const staged = new Map<number, number>();
    for (const s of prep.steps) if (s.kind === "upload") staged.set(s.index, s.from);
    for (const v of plan.values) {
      if (v.category !== "input") continue;
      const t = plan.tensors[v.index];
      const a = wordBytes(checkFeed(t, "input", feeds.inputs[String(t.attrs.name)]));
      const from = staged.get(v.index);
      const slot = prep.slots.get(v.index)!;
      if (from === undefined) this.device.queue.writeBuffer(slot.buffer, slot.offset, a);
      else this.device.queue.writeBuffer(prep.upload!, from, a);
    }
  }

  async #run(plan: Plan, feeds: Feeds): Promise<TensorData[]> {
    this.#checkLost();
    const prep = await this.#preparedOf(plan);
    const device = this.device;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    this.#writeInputs(plan, prep, feeds);
    this.#uploadParams(plan, feeds);
    this.#bind(plan, prep);
    if (debugSteps()) await this.#debugSteps(prep);
    const encoder = device.createCommandEncoder({ label: "da3 step" });
    const timing = this.#options.profile ? this.#encodeTimed(encoder, prep) : null;
    if (!timing) {
      let pass: GPUComputePassEncoder | null = null;
      for (const s of prep.steps) {
        if (s.kind === "upload") {
          pass?.end();
          pass = null;
          this.#encodeUpload(encoder, prep, s);
        } else encodeStep(pass ??= encoder.beginComputePass(), s);
      }
      pass?.end();
    }
    plan.outputs.forEach((o, i) => {
      if (!onDevice(plan.values[o])) return;
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
    for (const s of prep.steps) {
      if (s.kind !== "compute" || plan.values[s.index].category !== "update") continue;
      for (const t of [s.node.inputs[0], ...updateState(s.node)]) {
        this.#written.add(String(t.attrs.name));
      }
    }
    if (timing) await this.#readTimes(timing, prep);
    try {
      await prep.staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.#checkLost();
      throw e;
    }
    try {
      const mapped = prep.staging.getMappedRange();
      return plan.outputs.map((o, i) => {
        const t = plan.tensors[o];
        if (t.op === "param") {
          return checkFeed(t, "param", feeds.params.get(String(t.attrs.name)) as Float32Array);
        }
        // The parameter stays on the device (read it back with readParams): an empty value.
        if (plan.values[o].category === "update") return new Float32Array(0);
        const out = allocate(t.shape, t.dtype);
        const bytes = byteSize(t.shape, t.dtype);
        new Uint8Array(out.buffer).set(new Uint8Array(mapped, prep.stagingOffsets[i], bytes));
        return out;
      });
    } finally {
      prep.staging.unmap();
    }
  }

  /** Encodes each compute step in its own timestamped pass; returns the query objects to read and free. */
  #encodeTimed(encoder: GPUCommandEncoder, prep: Prepared): Timing {
    const compute = prep.steps.filter((s): s is Step => s.kind === "compute");
    const count = 2 * compute.length;
    const querySet = this.device.createQuerySet({ type: "timestamp", count });
    let i = 0;
    for (const s of prep.steps) {
      if (s.kind === "upload") {
        this.#encodeUpload(encoder, prep, s);
        continue;
      }
      const pass = encoder.beginComputePass({
        timestampWrites: {
          querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      encodeStep(pass, s);
      pass.end();
      i++;
    }
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

  async #readTimes(t: Timing, prep: Prepared): Promise<void> {
    try {
      await t.readback.mapAsync(GPUMapMode.READ);
      addExecution(
        this.#profile,
        prep.steps.filter((s): s is Step => s.kind === "compute").map((s) => s.node),
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

  execute(plan: Plan, feeds: Feeds): Promise<TensorData[]> {
    const result = this.#queue.then(() => this.#run(plan, feeds)).catch((e) => this.#lostOr(e));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async prepare(plan: Plan): Promise<void> {
    await this.#preparedOf(plan);
  }

  readParams(
    names: Iterable<string>,
    params: ReadonlyMap<string, Float32Array>,
  ): Promise<Map<string, Float32Array>> {
    const run = async () => {
      this.#checkLost();
      const which = [...names];
      const held = which.filter((n) => this.#params.has(n));
      const offsets: number[] = [];
      let end = 0;
      for (const n of held) {
        offsets.push(end);
        end += this.#params.get(n)!.bytes;
      }
      const out = new Map<string, Float32Array>();
      if (end > 0) {
        const staging = this.#buffer(
          "da3 params readback",
          end,
          GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        );
        try {
          const encoder = this.device.createCommandEncoder({ label: "da3 read params" });
          held.forEach((n, k) => {
            const e = this.#params.get(n)!;
            encoder.copyBufferToBuffer(e.buffer, 0, staging, offsets[k], e.bytes);
          });
          this.device.queue.submit([encoder.finish()]);
          await staging.mapAsync(GPUMapMode.READ);
          const mapped = staging.getMappedRange();
          held.forEach((n, k) => {
            const e = this.#params.get(n)!;
            out.set(n, new Float32Array(mapped.slice(offsets[k], offsets[k] + e.bytes)));
          });
          staging.unmap();
        } finally {
          staging.destroy();
        }
      }
      for (const n of which) {
        if (out.has(n)) continue;
        const a = params.get(n);
        if (!a) {
          throw new PlanError(`webgpu: readParams: no parameter "${n}" on the device or the host`);
        }
        out.set(n, a);
      }
      return out;
    };
    const result = this.#queue.then(run).catch((e) => this.#lostOr(e));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  invalidateParams(names?: Iterable<string>): void {
    const which = names ? [...names] : [...this.#params.keys()];
    for (const n of which) {
      const e = this.#params.get(n);
      if (e) e.source = null;
    }
  }

  release(plan: Plan): void {
    const p = this.#prepared.get(plan);
    this.#prepared.delete(plan);
    p?.then((prep) => prep.owned.forEach((b) => b.destroy()), () => undefined);
  }

  destroy(): void {
    for (const plan of [...this.#prepared.keys()]) this.release(plan);
    for (const e of this.#params.values()) e.buffer.destroy();
    this.#params.clear();
    this.device.destroy();
  }
}
