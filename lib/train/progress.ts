/**
 * A one-line progress bar for training epochs.
 * @module
 */

/** What one progress update shows. */
export interface ProgressState {
  /** Label, e.g. `da3/fashion epoch 1/3`. */
  readonly label: string;
  /** Steps done in this epoch. */
  readonly step: number;
  /** Steps in this epoch. */
  readonly steps: number;
  /** Running mean loss. */
  readonly loss: number;
  /** Running training accuracy in [0, 1]. */
  readonly accuracy: number;
  /** Seconds since the epoch started. */
  readonly elapsed: number;
  /** Arena bytes of the step's plan. */
  readonly arenaBytes: number;
}

/** Renders `label [#####-----] 12/40 loss 0.532 acc 81.2% 3.4 steps/s ETA 8s arena 1.2 MB`. */
export function formatProgress(p: ProgressState, width = 20): string {
  const done = Math.round((p.step / Math.max(p.steps, 1)) * width);
  const rate = p.step / Math.max(p.elapsed, 1e-9);
  const eta = rate > 0 ? (p.steps - p.step) / rate : 0;
  return `${p.label} [${"#".repeat(done)}${"-".repeat(width - done)}] ${p.step}/${p.steps} loss ${
    p.loss.toFixed(3)
  } acc ${(100 * p.accuracy).toFixed(1)}% ${rate.toFixed(1)} steps/s ETA ${eta.toFixed(0)}s arena ${
    (p.arenaBytes / 1e6).toFixed(1)
  } MB`;
}

/** Writes a progress line in place on a terminal, or as its own line otherwise. */
export function writeProgress(line: string, final = false): void {
  const enc = new TextEncoder();
  if (Deno.stderr.isTerminal()) {
    Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}${final ? "\n" : ""}`));
  } else if (final) {
    Deno.stderr.writeSync(enc.encode(`${line}\n`));
  }
}
