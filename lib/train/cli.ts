/**
 * `deno task train`: multi-domain training. Not implemented yet; exits with
 * status 2 rather than pretending to train.
 * @module
 */
if (import.meta.main) {
  console.error("da3 train: not yet available (multi-domain training has not landed).");
  Deno.exit(2);
}
