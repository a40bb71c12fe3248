/** The finite check for weights read from files: finds the first NaN/±Infinity by tensor and index. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkFinite, findNonFinite, firstNonFinite, NonFiniteError } from "../lib/io/finite.ts";

Deno.test("firstNonFinite finds the first NaN or infinity, -1 when all are finite", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }),
      fc.nat(),
      fc.constantFrom(NaN, Infinity, -Infinity),
      (values, at, bad) => {
        const clean = Float32Array.from(values);
        assert.equal(firstNonFinite(clean), -1);
        const i = at % (values.length + 1);
        const dirty = Float32Array.from([...values.slice(0, i), bad, ...values.slice(i)]);
        assert.equal(firstNonFinite(dirty), i);
      },
    ),
  );
});

Deno.test("checkFinite names the file, the tensor, the index and the value", () => {
  const tensors = new Map([
    ["fc.bias", new Float32Array([0, 1])],
    ["fc.weight", new Float32Array([1, 2, -Infinity, NaN])],
  ]);
  assert.deepEqual(findNonFinite(tensors), { tensor: "fc.weight", index: 2, value: -Infinity });
  assert.throws(() => checkFinite(tensors, "ckpt.safetensors"), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.equal(e.file, "ckpt.safetensors");
    assert.equal(e.tensor, "fc.weight");
    assert.equal(e.index, 2);
    assert.ok(
      e.message.includes('ckpt.safetensors: tensor "fc.weight" holds -Infinity at index 2'),
    );
    return true;
  });
  checkFinite([["a", new Float32Array([1, -0, 3e38])]], "x");
});
