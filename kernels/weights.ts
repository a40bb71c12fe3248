/**
 * How WGSL kernels read a weight binding: plain `f32`, or a frozen weight
 * at reduced precision dequantised at each load.
 *
 * Layouts (one `array<u32>` binding, indexed from word 0):
 * - `f16`: two IEEE halves per word, element `2k` in the low half
 *   (`unpack2x16float`);
 * - `u8`: four bytes per word, element `i` in byte `i % 4` of word `i / 4`;
 *   after `ceil(n/4)` data words come `C` f32 `scale` words, then `C` f32
 *   `min` words; element `i` of channel `c = i / (n/C)` is
 *   `min[c] + scale[c]·q[i]` (`C` = 1 per tensor, or the output channels).
 * @module
 */

/** The storage of a weight binding, with what its accessor needs. */
export type WeightFormat =
  | { readonly storage: "f32" }
  | { readonly storage: "f16" }
  | {
    readonly storage: "u8";
    /** Elements of the weight. */
    readonly count: number;
    /** Scale pairs (1 per tensor, or one per output channel). */
    readonly scales: number;
  };

/** Plain f32 weights. */
export const F32_WEIGHTS: WeightFormat = { storage: "f32" };

/** True for a reduced-precision format. */
export function isPacked(f: WeightFormat): boolean {
  return f.storage !== "f32";
}

/** A short suffix for kernel names (`""` for f32). */
export function formatSuffix(f: WeightFormat): string {
  return f.storage === "f32" ? "" : `_${f.storage}`;
}

/**
 * The module-scope WGSL of binding `binding` named `name`: an `array<f32>`
 * declaration for f32 (`vec4<f32>` when `vec4`), or an `array<u32>` and the
 * accessor `fn <name>_at(i: u32) -> f32` for a packed format.
 */
export function weightDecl(binding: number, name: string, f: WeightFormat, vec4 = false): string {
  const decl = (t: string) =>
    `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${t}>;`;
  if (f.storage === "f32") return decl(vec4 ? "vec4<f32>" : "f32");
  if (f.storage === "f16") {
    return [
      decl("u32"),
      `fn ${name}_at(i: u32) -> f32 {`,
      `  let v = unpack2x16float(${name}[i >> 1u]);`,
      `  return select(v.x, v.y, (i & 1u) == 1u);`,
      `}`,
    ].join("\n");
  }
  const words = Math.ceil(f.count / 4);
  const per = f.count / f.scales;
  const c = f.scales === 1 ? "0u" : `i / ${per}u`;
  return [
    decl("u32"),
    `fn ${name}_at(i: u32) -> f32 {`,
    `  let q = f32((${name}[i >> 2u] >> ((i & 3u) * 8u)) & 255u);`,
    `  let c = ${c};`,
    `  return bitcast<f32>(${name}[${words}u + ${f.scales}u + c]) + bitcast<f32>(${name}[${words}u + c]) * q;`,
    `}`,
  ].join("\n");
}

/** A WGSL expression loading element `index` (a u32 expression) of weight `name`. */
export function weightAt(name: string, f: WeightFormat, index: string): string {
  return f.storage === "f32" ? `${name}[${index}]` : `${name}_at(${index})`;
}
