/**
 * `deno task train`: multi-domain training from the command line.
 * @module
 */
import { trainConfigFromArgs, USAGE } from "./args.ts";
import { runTraining } from "./run.ts";

if (import.meta.main) {
  try {
    const config = await trainConfigFromArgs(Deno.args);
    if (config === "help") console.log(USAGE);
    else await runTraining(config);
  } catch (e) {
    console.error(`da3 train: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
