/**
 * How operand loads bound a register-blocked matmul on the WebGPU adapter:
 * `c[1024,1024] = a · b` with both operands read from storage buffers
 * (`array<vec4<f32>>`, as da3's kernels do) or from `rgba32float` textures
 * (`textureLoad`), for three register tiles, in GFLOP/s.
 *
 * XDG_RUNTIME_DIR=/tmp deno run -A bench/operand_loads.ts
 * @module
 */
const SIZE = 1024;
const adapter = await navigator.gpu.requestAdapter();
if (!adapter) throw new Error("no WebGPU adapter");
const device = await adapter.requestDevice();
console.log(`adapter: ${adapter.info.description || adapter.info.vendor}`);

/** WGSL for one `tm × tn` tile per invocation; `a` loaded along k, `b` along the tile. */
function matmulCode(tm: number, tn: number, texture: boolean): string {
  const n = SIZE, k = SIZE;
  const loadA = (i: number) =>
    texture
      ? `textureLoad(at, vec2<u32>(kk / 4u, r0 + ${i}u), 0)`
      : `a[(r0 + ${i}u) * ${k / 4}u + kk / 4u]`;
  const loadB = (u: number, q: number) =>
    texture
      ? `textureLoad(bt, vec2<u32>(c0 / 4u + ${q}u, kk + ${u}u), 0)`
      : `b[(kk + ${u}u) * ${n / 4}u + c0 / 4u + ${q}u]`;
  const L = texture
    ? [
      "@group(0) @binding(0) var at: texture_2d<f32>;",
      "@group(0) @binding(1) var bt: texture_2d<f32>;",
    ]
    : [
      "@group(0) @binding(0) var<storage, read_write> a: array<vec4<f32>>;",
      "@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;",
    ];
  L.push("@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;");
  L.push("@compute @workgroup_size(8, 8) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {");
  L.push(`  let r0 = gid.y * ${tm}u; let c0 = gid.x * ${tn}u;`);
  for (let i = 0; i < tm; i++) {
    for (let q = 0; q < tn / 4; q++) L.push(`  var acc${i}_${q} = vec4<f32>(0.0);`);
  }
  L.push(`  for (var kk = 0u; kk < ${k}u; kk += 4u) {`);
  for (let i = 0; i < tm; i++) L.push(`    let a${i} = ${loadA(i)};`);
  for (let u = 0; u < 4; u++) {
    for (let q = 0; q < tn / 4; q++) L.push(`    let b${u}_${q} = ${loadB(u, q)};`);
  }
  for (let u = 0; u < 4; u++) {
    for (let i = 0; i < tm; i++) {
      for (let q = 0; q < tn / 4; q++) {
        L.push(`    acc${i}_${q} = fma(vec4<f32>(a${i}[${u}]), b${u}_${q}, acc${i}_${q});`);
      }
    }
  }
  L.push("  }");
  for (let i = 0; i < tm; i++) {
    for (let q = 0; q < tn / 4; q++) {
      L.push(`  c[((r0 + ${i}u) * ${n}u + c0) / 4u + ${q}u] = acc${i}_${q};`);
    }
  }
  L.push("}");
  return L.join("\n");
}

/** Best GFLOP/s of three submissions of three dispatches each. */
async function gflops(tm: number, tn: number, texture: boolean): Promise<number> {
  const pipeline = await device.createComputePipelineAsync({
    layout: "auto",
    compute: {
      module: device.createShaderModule({ code: matmulCode(tm, tn, texture) }),
      entryPoint: "main",
    },
  });
  const bytes = SIZE * SIZE * 4;
  const operand = (): GPUBindingResource =>
    texture
      ? device.createTexture({
        size: [SIZE / 4, SIZE],
        format: "rgba32float",
        usage: GPUTextureUsage.TEXTURE_BINDING,
      }).createView()
      : { buffer: device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE }) };
  const c = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [operand(), operand(), { buffer: c }].map((resource, binding) => ({
      binding,
      resource,
    })),
  });
  const reps = 3;
  const run = async () => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(SIZE / tn / 8, SIZE / tm / 8);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await run();
    best = Math.min(best, performance.now() - t);
  }
  return 2 * SIZE ** 3 * reps / best / 1e6;
}

for (const [tm, tn] of [[8, 8], [16, 16], [32, 8]]) {
  const storage = await gflops(tm, tn, false);
  const texture = await gflops(tm, tn, true);
  console.log(
    `matmul ${SIZE}³ tile ${tm}×${tn}: storage ${storage.toFixed(1)} GFLOP/s, ` +
      `texture ${texture.toFixed(1)} GFLOP/s (×${(texture / storage).toFixed(2)})`,
  );
}
