/**
 * `deno task pretrain`: trains the shared ResNet-20 backbone on the source
 * domain (fine-tuning every weight from a seeded initialisation) and writes
 * it, without its head, to `models/backbone.safetensors` with a log.
 * @module
 */
import { fileURLToPath } from "node:url";
import { UsageError } from "../cli/flags.ts";
import { runCli } from "../cli/run.ts";
import { writeSafetensorsFileAtomic } from "../io/safetensors.ts";
import { balancedIndices, loadDomain, subset } from "../data/mod.ts";
import { selectRuntime } from "../runtime/select.ts";
import { trainConfigFromArgs, usage } from "./args.ts";
import { BACKBONE_URL } from "../io/backbone.ts";
import { hashParams } from "../io/checkpoint.ts";
import { trainDomain } from "./domain.ts";

/** The source domain the backbone learns. */
export const SOURCE_DOMAIN = "mnist";

async function main(args: readonly string[]): Promise<void> {
  const config = await trainConfigFromArgs(args, { backbone: "resnet20-mnist" });
  if (config === "help") return console.log(usage("pretrain"));
  if (config.backbone !== "resnet20-mnist") {
    throw new UsageError(
      `--backbone: pretrain fits resnet20-mnist only; got "${config.backbone}"`,
      "--backbone",
    );
  }
  const runtime = await selectRuntime(config.backend);
  const split = await loadDomain(SOURCE_DOMAIN, { origin: config.data });
  const classes = split.train.classes.length;
  const train = config.limit === undefined ? split.train : subset(
    split.train,
    balancedIndices(split.train.labels, classes, Math.ceil(config.limit / classes), config.seed),
  );
  await Deno.mkdir(config.out, { recursive: true });
  const log: string[] = [];
  const t0 = performance.now();
  const r = await trainDomain({
    method: "finetune",
    domain: SOURCE_DOMAIN,
    train,
    test: split.test,
    backbone: new Map(),
    backboneHash: "none",
    runtime,
    epochs: config.epochs,
    batch: config.batch,
    lr: config.lr,
    schedule: { kind: config.schedule, warmup: config.warmup },
    optimizer: config.optimizer,
    seed: config.seed,
    out: config.out,
    resume: config.resume,
    progress: (line, final) => {
      if (final) {
        log.push(line);
        console.log(line);
      }
    },
  });
  const params = new Map([...r.params].filter(([k]) => !k.startsWith("fc.")));
  const metadata = {
    model: "resnet20",
    source: SOURCE_DOMAIN,
    data: config.data,
    examples: String(train.labels.length),
    testExamples: String(split.test.labels.length),
    top1: r.top1.toFixed(4),
    epochs: String(config.epochs),
    batch: String(config.batch),
    lr: String(config.lr),
    optimizer: config.optimizer,
    seed: String(config.seed),
    runtime: runtime.name,
    msPerStep: r.msPerStep.toFixed(0),
    minutes: ((performance.now() - t0) / 60000).toFixed(1),
  };
  const tensors = new Map(
    [...params].map((
      [k, v],
    ) => [k, { dtype: "F32" as const, shape: r.shapes.get(k) ?? [v.length], data: v }]),
  );
  await writeSafetensorsFileAtomic(fileURLToPath(BACKBONE_URL), tensors, metadata);
  const hash = await hashParams(params);
  const summary = `backbone ${hash}: ${SOURCE_DOMAIN} top-1 ${
    (100 * r.top1).toFixed(2)
  }% on ${split.test.labels.length} test images`;
  await Deno.writeTextFile(
    new URL("../../models/backbone.log", import.meta.url),
    [...log, summary, JSON.stringify(metadata)].join("\n") + "\n",
  );
  console.log(summary);
}

if (import.meta.main) await runCli("pretrain", main);
