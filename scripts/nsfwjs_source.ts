/**
 * The npm tarball `nsfwjs@4.4.0` (MIT) as the source of da3's MobileNetV2
 * backbone: fetched once with `npm pack` into a git-ignored cache, checked
 * against its SHA-256, unpacked in memory, and its browserify-bundled
 * TF.js layers-model read as data (the bundles are parsed, never run).
 * @module
 */
import { gunzipSync } from "node:zlib";
import { browserifyExports } from "../lib/io/js_literal.ts";

/** What the backbone is made from. */
export const NSFWJS = {
  package: "nsfwjs",
  version: "4.4.0",
  sha256: "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382",
  license: "MIT",
  modelDir: "package/dist/models/mobilenet_v2/",
} as const;

/** The default cache directory of the tarball (git-ignored). */
export const NPM_CACHE = ".cache/npm";

/** Hex SHA-256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The tarball's bytes: from the cache, else `npm pack` into it; throws on a SHA-256 mismatch. */
export async function nsfwjsTarball(cache = NPM_CACHE): Promise<Uint8Array> {
  const path = `${cache}/${NSFWJS.package}-${NSFWJS.version}.tgz`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    await Deno.mkdir(cache, { recursive: true });
    const spec = `${NSFWJS.package}@${NSFWJS.version}`;
    const out = await new Deno.Command("npm", {
      args: ["pack", spec, "--pack-destination", cache],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm pack ${spec} failed (exit ${out.code})`);
    bytes = await Deno.readFile(path);
  }
  const got = await sha256Hex(bytes);
  if (got !== NSFWJS.sha256) {
    throw new Error(`${path}: SHA-256 ${got}, expected ${NSFWJS.sha256}`);
  }
  return bytes;
}

/** The regular files of a gzipped (us)tar archive, by path. */
export function untarGz(gz: Uint8Array): Map<string, Uint8Array> {
  const tar = new Uint8Array(gunzipSync(gz));
  const files = new Map<string, Uint8Array>();
  const text = (a: number, b: number) =>
    new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, "");
  for (let at = 0; at + 512 <= tar.length;) {
    const name = text(at, at + 100);
    if (name === "") break;
    const size = parseInt(text(at + 124, at + 136).trim() || "0", 8);
    const type = String.fromCharCode(tar[at + 156]);
    const prefix = text(at + 345, at + 500);
    const path = prefix ? `${prefix}/${name}` : name;
    if (type === "0" || type === "\0") files.set(path, tar.slice(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The unmodified nsfwjs MobileNetV2 files: the model JSON and its one weight shard. */
export interface NsfwjsModel {
  /** `modelTopology` + `weightsManifest`, as `model.min.js` exports them. */
  readonly modelJson: unknown;
  /** Weight shards by manifest path (`group1-shard1of1`). */
  readonly shards: ReadonlyMap<string, Uint8Array>;
  /** The package's LICENSE text. */
  readonly licenseText: string;
}

/** Reads the MobileNetV2 model of the tarball without executing its bundles. */
export function nsfwjsModel(tarball: Uint8Array): NsfwjsModel {
  const files = untarGz(tarball);
  const file = (p: string) => {
    const b = files.get(p);
    if (!b) throw new Error(`${NSFWJS.package}@${NSFWJS.version}: no ${p} in the tarball`);
    return new TextDecoder().decode(b);
  };
  const modelPath = NSFWJS.modelDir + "model.min.js";
  const shardPath = NSFWJS.modelDir + "group1-shard1of1.min.js";
  const modelJson = browserifyExports(file(modelPath), modelPath);
  const b64 = browserifyExports(file(shardPath), shardPath);
  if (typeof b64 !== "string") throw new Error(`${shardPath}: exports is not a string`);
  const shard = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return {
    modelJson,
    shards: new Map([["group1-shard1of1", shard]]),
    licenseText: file("package/LICENSE"),
  };
}
