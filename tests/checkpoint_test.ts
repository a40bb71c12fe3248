/** Per-domain checkpoints: round trip, backbone hash check, atomic write, corrupt files. */
import assert from "node:assert/strict";
import {
  CheckpointError,
  hashParams,
  loadCheckpoint,
  saveCheckpoint,
} from "../lib/io/checkpoint.ts";
import { NonFiniteError } from "../lib/io/finite.ts";
import { readSafetensorsFile, SafetensorsError } from "../lib/io/safetensors.ts";
import { importTorchvision } from "../lib/io/torchvision.ts";
import { params } from "../lib/graph/mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import { methodGraphs } from "../lib/train/domain.ts";

const backbone = new Map([["conv.w", Float32Array.of(1, 2, 3)], ["bn.g", Float32Array.of(1)]]);
const adaptor = new Map([["att.w", Float32Array.of(0.5, -0.25)]]);

Deno.test("a checkpoint round-trips parameters, state and metadata", async () => {
  const dir = await Deno.makeTempDir();
  const hash = await hashParams(backbone);
  const meta = { method: "da3", domain: "fashion", backbone: hash, epoch: 2, top1: 0.875 };
  await saveCheckpoint(
    `${dir}/c.safetensors`,
    meta,
    adaptor,
    new Map([["m/att.w", Float32Array.of(7, 8)]]),
  );
  const c = await loadCheckpoint(`${dir}/c.safetensors`, hash);
  assert.deepEqual(c.meta, meta);
  assert.deepEqual([...c.params], [...adaptor]);
  assert.deepEqual([...c.state.get("m/att.w")!], [7, 8]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c.safetensors"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint keeps DA³ options; malformed stored options are rejected", async () => {
  const dir = await Deno.makeTempDir();
  const hash = await hashParams(backbone);
  const meta = { method: "da3", domain: "fashion", backbone: hash, epoch: 1 };
  const options = { reduction: 4, source: "block" as const };
  await saveCheckpoint(`${dir}/c.safetensors`, { ...meta, options }, adaptor);
  assert.deepEqual((await loadCheckpoint(`${dir}/c.safetensors`, hash)).meta.options, options);
  await saveCheckpoint(`${dir}/d.safetensors`, { ...meta, options: {} }, adaptor);
  assert.equal((await loadCheckpoint(`${dir}/d.safetensors`, hash)).meta.options, undefined);
  const bytes = await Deno.readFile(`${dir}/c.safetensors`);
  const text = new TextDecoder().decode(bytes.subarray(0, 600));
  const at = text.indexOf('"block');
  assert.ok(at > 0, "options are in the header");
  bytes.set(new TextEncoder().encode('"wrong'), at);
  await Deno.writeFile(`${dir}/e.safetensors`, bytes);
  await assert.rejects(() => loadCheckpoint(`${dir}/e.safetensors`, hash), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /source/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint for another backbone is rejected, naming both hashes", async () => {
  const dir = await Deno.makeTempDir();
  const hash = await hashParams(backbone);
  await saveCheckpoint(`${dir}/c.safetensors`, {
    method: "da3",
    domain: "d",
    backbone: hash,
    epoch: 1,
  }, adaptor);
  const other = await hashParams(
    new Map([["conv.w", Float32Array.of(1, 2, 4)], ["bn.g", Float32Array.of(1)]]),
  );
  assert.notEqual(other, hash);
  await assert.rejects(
    () => loadCheckpoint(`${dir}/c.safetensors`, other),
    (e: unknown) => e instanceof CheckpointError && e.message.includes(hash.slice(0, 12)),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a truncated checkpoint is rejected before its data is used", async () => {
  const dir = await Deno.makeTempDir();
  const hash = await hashParams(backbone);
  const path = `${dir}/c.safetensors`;
  await saveCheckpoint(path, { method: "da3", domain: "d", backbone: hash, epoch: 1 }, adaptor);
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 3));
  await assert.rejects(() => loadCheckpoint(path, hash), SafetensorsError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoints keep real shapes and round-trip through the torchvision import", async () => {
  const dir = await Deno.makeTempDir();
  const g = methodGraphs("finetune", 3, 2).train.graph;
  const values = initParams(g, 5);
  const shapes = new Map(params(g).map((p) => [String(p.attrs.name), p.shape]));
  const tensors = new Map([...values].map(([n, data]) => [n, { shape: shapes.get(n)!, data }]));
  const path = `${dir}/finetune-fashion.safetensors`;
  await saveCheckpoint(
    path,
    { method: "finetune", domain: "fashion", backbone: "b", epoch: 1 },
    tensors,
  );
  const c = await loadCheckpoint(path, "b");
  assert.deepEqual(c.shapes.get("layer2.0.conv1.weight"), [32, 16, 3, 3]);
  assert.deepEqual(c.shapes.get("fc.weight"), [3, 64]);
  const { tensors: stored } = await readSafetensorsFile(path);
  const imported = importTorchvision(stored, g);
  assert.deepEqual(imported.missing, []);
  for (const [n, v] of values) assert.deepEqual(imported.params.get(n), v, n);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a non-finite value is never written, and a checkpoint holding one is refused", async () => {
  const dir = await Deno.makeTempDir();
  const hash = await hashParams(backbone);
  const path = `${dir}/c.safetensors`;
  const meta = { method: "da3", domain: "d", backbone: hash, epoch: 1 };
  await saveCheckpoint(path, meta, adaptor);
  const before = await Deno.readFile(path);
  for (const bad of [NaN, Infinity, -Infinity]) {
    await assert.rejects(
      () => saveCheckpoint(path, meta, new Map([["att.w", Float32Array.of(0.5, bad)]])),
      (e: unknown) =>
        e instanceof NonFiniteError && e.message.includes(`${path}: att.w[1] is ${bad}`),
    );
    await assert.rejects(
      () => saveCheckpoint(path, meta, adaptor, new Map([["m", Float32Array.of(bad)]])),
      NonFiniteError,
    );
  }
  assert.deepEqual(await Deno.readFile(path), before);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c.safetensors"]);
  const bytes = before.slice();
  const at = bytes.length - 4; // the last f32 of the data: att.w[1]
  new DataView(bytes.buffer).setFloat32(at, NaN, true);
  await Deno.writeFile(`${dir}/nan.safetensors`, bytes);
  await assert.rejects(
    () => loadCheckpoint(`${dir}/nan.safetensors`, hash),
    (e: unknown) =>
      e instanceof CheckpointError && /nan\.safetensors: att\.w\[1\] is NaN/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});
