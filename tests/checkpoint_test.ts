/** Per-domain checkpoints: round trip, backbone hash check, atomic write, corrupt files. */
import assert from "node:assert/strict";
import {
  CheckpointError,
  hashParams,
  loadCheckpoint,
  saveCheckpoint,
} from "../lib/train/checkpoint.ts";
import { SafetensorsError } from "../lib/io/safetensors.ts";

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
