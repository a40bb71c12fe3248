/**
 * A weight that turns NaN mid-run on the WebGPU runtime stops training with
 * TrainingError naming the epoch and step (the host checks every updated
 * parameter, whatever the device's loss reports), and every file on disk is
 * unchanged. Needs a WebGPU adapter (Mesa llvmpipe in CI).
 */
import assert from "node:assert/strict";
import { loadCheckpoint } from "../lib/io/checkpoint.ts";
import { trainDomain, TrainingError } from "../lib/train/domain.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { backboneHash, injectingNaN, job, snapshot } from "./train_fixture.ts";

Deno.test({
  name: "a NaN weight stops the WebGPU run with TrainingError; every file is unchanged",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const gpu = await createWebGpuRuntime();
    await trainDomain(job(out, { epochs: 1, runtime: gpu }));
    const path = `${out}/da3-fashion.epoch.safetensors`;
    const before = await snapshot(out);
    const runtime = injectingNaN(gpu, "fc.weight", 2);
    await assert.rejects(
      () => trainDomain(job(out, { epochs: 2, resume: true, runtime })),
      (e: unknown) => {
        assert.ok(e instanceof TrainingError, String(e));
        assert.match(e.message, /is NaN (after the update )?at epoch 2 step 2/);
        assert.ok(e.message.includes(path), e.message);
        return true;
      },
    );
    assert.deepEqual(await snapshot(out), before);
    assert.equal((await loadCheckpoint(path, backboneHash)).meta.epoch, 1);
    await Deno.remove(out, { recursive: true });
  },
});
