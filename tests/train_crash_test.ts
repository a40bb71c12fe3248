/**
 * Crash safety: a training subprocess killed with SIGKILL at a random point,
 * then run again (resuming), ends with a final checkpoint byte-identical to
 * an uninterrupted run's, and leaves no temporary file behind.
 */
import assert from "node:assert/strict";

const CHILD = new URL("./train_child.ts", import.meta.url).pathname;
const FINAL = "da3-sklearn-digits.safetensors";

function child(out: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, out],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function complete(out: string): Promise<void> {
  const r = await child(out).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

Deno.test("SIGKILL at a random point, then resume: the final checkpoint is byte-identical", async () => {
  const [ref, killed] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const t0 = performance.now();
  await complete(ref);
  const full = performance.now() - t0;
  const delay = Math.random() * full;
  const p = child(killed);
  await new Promise((resolve) => setTimeout(resolve, delay));
  try {
    p.kill("SIGKILL");
  } catch {
    // It finished before the kill.
  }
  await p.status;
  await p.stderr.cancel();
  await complete(killed);
  const [a, b] = [
    await Deno.readFile(`${ref}/${FINAL}`),
    await Deno.readFile(`${killed}/${FINAL}`),
  ];
  assert.deepEqual(b, a, `killed after ${delay.toFixed(0)} of ${full.toFixed(0)} ms`);
  const left = [...Deno.readDirSync(killed)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
  assert.deepEqual(left, [], "no temporary left");
  await Deno.remove(ref, { recursive: true });
  await Deno.remove(killed, { recursive: true });
});
