/**
 * `deno task train`: multi-domain training from the command line. Errors are
 * printed by da3's one CLI error handler with their exit code (1 bad input,
 * 2 usage, 3 training stopped; see `--help`).
 * @module
 */
import { runCli } from "../cli/run.ts";
import { trainConfigFromArgs, USAGE } from "./args.ts";
import { runTraining } from "./run.ts";

/** Runs `deno task train` on `argv`. */
export async function trainMain(argv: readonly string[]): Promise<void> {
  const config = await trainConfigFromArgs(argv);
  if (config === "help") console.log(USAGE);
  else await runTraining(config);
}

if (import.meta.main) await runCli("train", trainMain);
