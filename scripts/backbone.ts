/**
 * `deno task backbone`: regenerates da3's MobileNetV2 backbone from the npm
 * tarball nsfwjs@4.4.0 (fetched with `npm pack` into `.cache/npm` when
 * absent, checked against its SHA-256): `models/mobilenetv2.safetensors`
 * (every layer up to `Conv_1_bn`, Keras layer names, da3 layouts, the
 * source's uint8 integers with their per-tensor `[min, scale]`) and
 * `models/mobilenetv2.provenance.json`. The nsfwjs 5-class head goes only to
 * `tests/fixtures/tfjs/nsfwjs_head.safetensors`, for the TF.js parity test.
 *
 *     deno task backbone
 * @module
 */
import { affineTensors } from "../lib/io/affine_u8.ts";
import { kerasLayerParams, type KerasParam } from "../lib/io/keras_params.ts";
import { encodeSafetensors } from "../lib/io/safetensors_write.ts";
import { readTfjsLayersModel } from "../lib/io/tfjs_layers.ts";
import { NSFWJS, nsfwjsModel, nsfwjsTarball, sha256Hex } from "./nsfwjs_source.ts";

/** Where the backbone and its provenance go. */
export const BACKBONE_PATH = "models/mobilenetv2.safetensors";
/** The provenance record beside it. */
export const PROVENANCE_PATH = "models/mobilenetv2.provenance.json";
/** The 5-class head, a test fixture only. */
export const HEAD_FIXTURE = "tests/fixtures/tfjs/nsfwjs_head.safetensors";

async function main() {
  const tarball = await nsfwjsTarball();
  const { modelJson, shards, licenseText } = nsfwjsModel(tarball);
  const model = readTfjsLayersModel(modelJson, shards, {
    file: `${NSFWJS.modelDir}model.min.js`,
  });
  const backbone = new Map<string, KerasParam>();
  const head = new Map<string, KerasParam>();
  for (const layer of model.layers) {
    for (const [k, v] of kerasLayerParams(layer)) {
      (layer.className === "Dense" ? head : backbone).set(k, v);
    }
  }
  const source = `${NSFWJS.package}@${NSFWJS.version}`;
  const metadata = { source, sha256: NSFWJS.sha256, license: NSFWJS.license };
  const bytes = encodeSafetensors(affineTensors(backbone), metadata);
  await Deno.writeFile(BACKBONE_PATH, bytes);
  await Deno.mkdir("tests/fixtures/tfjs", { recursive: true });
  await Deno.writeFile(HEAD_FIXTURE, encodeSafetensors(affineTensors(head), metadata));
  const count = (m: Map<string, KerasParam>, stats: boolean) =>
    [...m].filter(([k]) => k.endsWith("running_mean") || k.endsWith("running_var") ? stats : !stats)
      .reduce((s, [, p]) => s + p.values.length, 0);
  const provenance = {
    file: BACKBONE_PATH,
    fileSha256: await sha256Hex(bytes),
    package: NSFWJS.package,
    version: NSFWJS.version,
    tarball: `${NSFWJS.package}-${NSFWJS.version}.tgz`,
    tarballSha256: NSFWJS.sha256,
    license: NSFWJS.license,
    licenseText,
    files: [`${NSFWJS.modelDir}model.min.js`, `${NSFWJS.modelDir}group1-shard1of1.min.js`],
    architecture:
      "Keras 2.2.4 MobileNetV2, alpha 1.0, trained at 224x224x3; input RGB / 255 in [0, 1], no mean/std",
    names:
      "Keras layer names with da3 suffixes: <layer>.weight (Conv2D [out,in,kh,kw], DepthwiseConv2D [C,1,kh,kw]), <bn>.weight|bias|running_mean|running_var",
    storage:
      "U8 as in the source, with F64 <name>.affine = [min, scale]; value = q * scale + min (TF.js's dequantisation)",
    layers:
      "Conv1 ... block_16_project_BN, Conv_1, Conv_1_bn; the 256-128-5 Dense head is not included",
    fineTuned:
      "Per nsfwjs's training scripts, layers before block_11_expand kept their ImageNet weights; block_11 onward (and the head) were fine-tuned on a 5-class image-content task",
    parameters: count(backbone, false),
    bnStatistics: count(backbone, true),
  };
  await Deno.writeTextFile(PROVENANCE_PATH, JSON.stringify(provenance, null, 2) + "\n");
  console.log(
    `wrote ${BACKBONE_PATH} (${bytes.length} bytes, ${provenance.parameters} parameters + ${provenance.bnStatistics} BN statistics), ${PROVENANCE_PATH}, ${HEAD_FIXTURE}`,
  );
}

if (import.meta.main) await main();
