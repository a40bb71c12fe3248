/**
 * Model selection on validation across runs of the same methods and domains
 * with different recipes (e.g. one run continued with `--resume` to more
 * epochs, or another knob): per method, the candidate whose mean validation
 * top-1 over the domains is highest (the earlier candidate on a tie, so list
 * the cheaper first). Test accuracy plays no part in the choice.
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

/** A candidate: a recipe's label (e.g. `10 epochs`) and its runs. */
export interface Candidate {
  /** What distinguishes this candidate's recipe. */
  readonly label: string;
  /** Its runs. */
  readonly results: Results;
}

/** One method's choice: the mean validation top-1 of each candidate that ran it, and the winner. */
export interface MethodChoice {
  /** Method name. */
  readonly method: string;
  /** Every candidate that ran the method, in the order given: its label and mean validation top-1. */
  readonly candidates: readonly { readonly label: string; readonly meanVal: number }[];
  /** Index (in `candidates`) of the chosen one. */
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

/** Per method, the candidate with the highest mean validation top-1 (the earlier on a tie). */
export function selectByValidation(candidates: readonly Candidate[]): Selection {
  if (candidates.length === 0) throw new SelectionError("no results to select from");
  const backbone = candidates[0].results.backbone;
  const bad = candidates.find((c) => c.results.backbone !== backbone);
  if (bad) {
    throw new SelectionError(
      `${bad.label} is of backbone ${bad.results.backbone}, not ${backbone}`,
    );
  }
  const methods = [...new Set(candidates.flatMap((c) => c.results.runs.map((r) => r.method)))];
  const choices: MethodChoice[] = [];
  const runs: RunResult[] = [];
  for (const method of methods) {
    const ran = candidates.map((c) => ({
      label: c.label,
      runs: c.results.runs.filter((r) => r.method === method),
    })).filter((c) => c.runs.length > 0);
    const sets = ran.map((c) => c.runs);
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
    const scored = ran.map((c) => ({ label: c.label, meanVal: meanVal(c.runs) }));
    let chosen = 0;
    scored.forEach((s, i) => {
      if (s.meanVal > scored[chosen].meanVal) chosen = i;
    });
    choices.push({ method, candidates: scored, chosen });
    runs.push(...sets[chosen]);
  }
  return { results: { backbone, runs }, choices };
}

const pct = (v: number) => (100 * v).toFixed(1);

/** A Markdown table of the choice: one row per method, mean validation top-1 per candidate, the chosen one in bold. */
export function selectionTable(selection: Selection): string {
  const labels = [...new Set(selection.choices.flatMap((c) => c.candidates.map((k) => k.label)))];
  const rows = selection.choices.map((c) => {
    const cells = labels.map((label) => {
      const i = c.candidates.findIndex((k) => k.label === label);
      if (i < 0) return "–";
      const v = pct(c.candidates[i].meanVal);
      return i === c.chosen ? `**${v}**` : v;
    });
    return `| ${c.method} | ${cells.join(" | ")} |`;
  });
  return [
    `| method (mean val top-1) | ${labels.join(" | ")} |`,
    `|---|${labels.map(() => "---:").join("|")}|`,
    ...rows,
  ].join("\n");
}
