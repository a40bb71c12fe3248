/**
 * The TF.js oracle of da3's MobileNetV2 import: runs the unmodified nsfwjs
 * model with `@tensorflow/tfjs` (CPU backend) on the fixed parity images and
 * writes, per case, the 5-class probabilities (at 224², the model's own
 * input) and the globally average-pooled `block_10_project_BN` and `out_relu`
 * (after `Conv_1`) features to `tests/fixtures/tfjs/mobilenet_v2_parity.json`.
 * Smaller sizes re-apply the model's own layers to a new input.
 *
 *     deno run -A scripts/tfjs_oracle.ts
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parityImagesNhwc } from "../tests/tfjs_inputs.ts";
import { NSFWJS, nsfwjsModel, nsfwjsTarball } from "./nsfwjs_source.ts";

/** Where the fixture goes. */
export const PARITY_FIXTURE = "tests/fixtures/tfjs/mobilenet_v2_parity.json";

const FEATURES = { block_10: "block_10_project_BN", Conv_1: "out_relu" } as const;

interface Manifest {
  readonly modelTopology: tf.io.ModelArtifacts["modelTopology"];
  readonly weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function mean(values: Float32Array, n: number, hw: number, c: number): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < n; b++) {
    const row = new Array<number>(c).fill(0);
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < c; k++) row[k] += values[(b * hw + p) * c + k];
    }
    out.push(row.map((v) => v / hw));
  }
  return out;
}

/** Applies the model's layers in order to a new `[size, size, 3]` input, up to `names`. */
function featureModel(model: tf.LayersModel, size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  const values = new Map<string, tf.SymbolicTensor>([[model.inputLayers[0].name, input]]);
  for (const layer of model.layers.slice(1)) {
    const inbound = layer.inboundNodes[0].inboundLayers.map((l) => values.get(l.name)!);
    values.set(
      layer.name,
      layer.apply(inbound.length === 1 ? inbound[0] : inbound) as tf.SymbolicTensor,
    );
    if (layer.name === FEATURES.Conv_1) break;
  }
  return tf.model({ inputs: input, outputs: Object.values(FEATURES).map((n) => values.get(n)!) });
}

/** The unmodified nsfwjs MobileNetV2 as a TF.js layers model, from the npm tarball. */
export async function nsfwjsLayersModel(): Promise<tf.LayersModel> {
  const { modelJson, shards } = nsfwjsModel(await nsfwjsTarball());
  const m = JSON.parse(JSON.stringify(modelJson)) as Manifest;
  const [group] = m.weightsManifest;
  const data = shards.get(group.paths[0])!;
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: m.modelTopology,
    weightSpecs: group.weights,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
}

async function main() {
  await tf.setBackend("cpu");
  const model = await nsfwjsLayersModel();
  const cases = [];
  for (const [size, count] of [[224, 2], [64, 2]] as const) {
    const x = tf.tensor4d(parityImagesNhwc(count, size), [count, size, size, 3]);
    const probabilities = size === 224
      ? ((await (model.predict(x) as tf.Tensor).array()) as number[][])
      : null;
    const outs = featureModel(model, size).predict(x) as tf.Tensor[];
    const features: Record<string, number[][]> = {};
    Object.keys(FEATURES).forEach((k, i) => {
      const [n, h, w, c] = outs[i].shape;
      features[k] = mean(outs[i].dataSync() as Float32Array, n, h * w, c);
    });
    cases.push({ size, count, probabilities, features });
  }
  const fixture = {
    source: `${NSFWJS.package}@${NSFWJS.version} (sha256 ${NSFWJS.sha256})`,
    oracle: `@tensorflow/tfjs@${tf.version.tfjs}, backend ${tf.getBackend()}`,
    inputs: "tests/tfjs_inputs.ts parityImagesNhwc(count, size), RGB in [0,1]",
    features: FEATURES,
    cases,
  };
  await Deno.mkdir("tests/fixtures/tfjs", { recursive: true });
  await Deno.writeTextFile(PARITY_FIXTURE, JSON.stringify(fixture) + "\n");
  console.log(`wrote ${PARITY_FIXTURE} (${cases.length} cases)`);
  for (const c of cases) console.log(c.size, JSON.stringify(c.probabilities));
}

if (import.meta.main) await main();
