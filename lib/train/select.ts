/**
 * Model selection on validation across runs of the same methods and domains
 * trained for different numbers of epochs (e.g. one run continued with
 * `--resume` to more epochs): per method, the run whose mean validation
 * top-1 over the domains is highest (the fewest epochs on a tie). Test
 * accuracy plays no part in the choice.
 * @module
 */
import type { Results, RunResult } from "./results.ts";

/** Thrown for runs that cannot be compared (no validation split, other domains or backbone). */
export class SelectionError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SelectionError";
  }
}

/** One method's choice: the epochs of each candidate with its mean validation top-1, and the winner. */
export interface MethodChoice {
  /** Method name. */
  readonly method: string;
  /** Every candidate, in the order given: its epochs (undefined for a fitted probe) and mean validation top-1. */
  readonly candidates: readonly { readonly epochs?: number; readonly meanVal: number }[];
  /** Index of the chosen candidate. */
  readonly chosen: number;
}

/** The chosen runs, as one {@linkcode Results}, and every method's choice. */
export interface Selection {
  /** The runs of each method's chosen candidate, methods in first-seen order. */
  readonly results: Results;
  /** How each method was chosen. */
  readonly choices: readonly MethodChoice[];
}

const meanVal = (rs: readonly RunResult[]) =>
  rs.reduce((s, r) => s + (r.valTop1 as number), 0) / rs.length;

const domainsOf = (rs: readonly RunResult[]) => rs.map((r) => r.domain).sort().join(",");

/** Per method, the candidate run set with the highest mean validation top-1 (fewest epochs on ties). */
export function selectByValidation(candidates: readonly Results[]): Selection {
  if (candidates.length === 0) throw new SelectionError("no results to select from");
  const backbone = candidates[0].backbone;
  const bad = candidates.findIndex((c) => c.backbone !== backbone);
  if (bad >= 0) {
    throw new SelectionError(
      `results ${bad} are of backbone ${candidates[bad].backbone}, not ${backbone}`,
    );
  }
  const methods = [...new Set(candidates.flatMap((c) => c.runs.map((r) => r.method)))];
  const choices: MethodChoice[] = [];
  const runs: RunResult[] = [];
  for (const method of methods) {
    const sets = candidates.map((c) => c.runs.filter((r) => r.method === method))
      .filter((rs) => rs.length > 0);
    const missing = sets.flat().find((r) => r.valTop1 === undefined);
    if (missing) {
      throw new SelectionError(`${method}/${missing.domain} has no validation top-1 to select on`);
    }
    const other = sets.find((rs) => domainsOf(rs) !== domainsOf(sets[0]));
    if (other) {
      throw new SelectionError(
        `${method} ran on ${domainsOf(sets[0])} in one result and ${domainsOf(other)} in another`,
      );
    }
    const scored = sets.map((rs) => ({ epochs: rs[0].epochs, meanVal: meanVal(rs) }));
    let chosen = 0;
    scored.forEach((s, i) => {
      const best = scored[chosen];
      const fewer = (s.epochs ?? 0) < (best.epochs ?? 0);
      if (s.meanVal > best.meanVal || (s.meanVal === best.meanVal && fewer)) chosen = i;
    });
    choices.push({ method, candidates: scored, chosen });
    runs.push(...sets[chosen]);
  }
  return { results: { backbone, runs }, choices };
}

const pct = (v: number) => (100 * v).toFixed(1);

/** A Markdown table of the choice: one row per method, mean validation top-1 per epoch count, the chosen one in bold. */
export function selectionTable(selection: Selection): string {
  const epochs = [
    ...new Set(selection.choices.flatMap((c) => c.candidates.map((k) => k.epochs ?? 0))),
  ].filter((e) => e > 0).sort((a, b) => a - b);
  const rows = selection.choices.map((c) => {
    const cells = epochs.map((e) => {
      const i = c.candidates.findIndex((k) => k.epochs === e);
      if (i < 0) return "–";
      return i === c.chosen ? `**${pct(c.candidates[i].meanVal)}**` : pct(c.candidates[i].meanVal);
    });
    const fitted = c.candidates.every((k) => k.epochs === undefined);
    return `| ${c.method} | ${
      fitted ? epochs.map(() => pct(c.candidates[0].meanVal)).join(" | ") : cells.join(" | ")
    } |`;
  });
  return [
    `| method (mean val top-1) | ${epochs.map((e) => `${e} epochs`).join(" | ")} |`,
    `|---|${epochs.map(() => "---:").join("|")}|`,
    ...rows,
  ].join("\n");
}
