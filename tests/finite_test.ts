/** The finite check for weights read from files: finds the first NaN/±Infinity by name and index. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertFinite, firstNonFinite, NonFiniteError } from "../lib/io/finite.ts";

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

Deno.test("assertFinite names the array, the index and the value", () => {
  const tensors = new Map([
    ["ckpt.safetensors: fc.bias", new Float32Array([0, 1])],
    ["ckpt.safetensors: fc.weight", new Float32Array([1, 2, -Infinity, NaN])],
  ]);
  assert.throws(() => assertFinite(tensors, "refused"), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.equal(e.what, "ckpt.safetensors: fc.weight");
    assert.equal(e.index, 2);
    assert.equal(e.value, -Infinity);
    assert.equal(e.message, "ckpt.safetensors: fc.weight[2] is -Infinity; refused");
    return true;
  });
  assertFinite([["a", new Float32Array([1, -0, 3e38])]], "refused");
});
