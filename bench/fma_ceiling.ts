/**
 * The arithmetic ceiling of the WebGPU adapter: a compute shader of
 * independent `vec4` FMA chains with no memory loads in its loop, in GFLOP/s,
 * for 4, 8 and 16 accumulators per invocation.
 *
 * XDG_RUNTIME_DIR=/tmp deno run -A bench/fma_ceiling.ts
 * @module
 */
const adapter = await navigator.gpu.requestAdapter();
const device = await adapter!.requestDevice();
for (const acc of [4, 8, 16]) {
  const iters = 4096, groups = 512, wg = 64;
  const decl = Array.from(
    { length: acc },
    (_, i) => `var a${i} = vec4<f32>(f32(i) * 1e-9 + ${i}.0);`,
  ).join("\n");
  const body = Array.from({ length: acc }, (_, i) => `a${i} = fma(a${i}, m, c);`).join("\n");
  const sum = Array.from({ length: acc }, (_, i) => `a${i}`).join(" + ");
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x; let m = vec4<f32>(0.999999); let c = vec4<f32>(1e-7);
  ${decl}
  for (var k = 0u; k < ${iters}u; k++) { ${body} }
  out[i] = ${sum};
}`;
  const pipeline = await device.createComputePipelineAsync({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const buf = device.createBuffer({ size: groups * wg * 16, usage: GPUBufferUsage.STORAGE });
  const bg = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: buf } }],
  });
  const run = async () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(groups);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    await run();
    best = Math.min(best, performance.now() - t);
  }
  const flops = groups * wg * iters * acc * 4 * 2;
  console.log(
    `${acc} vec4 accumulators: ${(flops / best / 1e6).toFixed(1)} GFLOP/s (${best.toFixed(1)} ms)`,
  );
}
