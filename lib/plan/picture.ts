/**
 * A picture of a plan as SVG text: the timeline of live bytes per schedule
 * step stacked by category, the peak marked and the values live there named,
 * and under it the arena itself, one offset × time rectangle per value (as
 * TFLite's arena dumps draw it). A pure function of the plan; MB = 10^6 bytes.
 * @module
 */
import {
  arenaRects,
  liveAt,
  PICTURE_CATEGORIES,
  type PictureCategory,
  planTimeline,
  valueLabel,
} from "./picture_data.ts";
import { megabytes } from "./report.ts";
import type { Plan } from "./types.ts";

/** Fill colour of each band. */
export const PICTURE_COLOURS: Readonly<Record<PictureCategory, string>> = {
  weights: "#b0b0b0",
  gradients: "#e15759",
  optimizer: "#f28e2b",
  input: "#59a14f",
  saved: "#4e79a7",
  transient: "#edc948",
};

/** Legend text of each band. */
export const PICTURE_NAMES: Readonly<Record<PictureCategory, string>> = {
  weights: "weights",
  gradients: "gradients",
  optimizer: "optimizer state",
  input: "input batch",
  saved: "saved activations",
  transient: "transient values",
};

/** Options of {@linkcode planPicture}. */
export interface PictureOptions {
  /** The heading, e.g. `resnet50 da3, batch 8, 224×224, Adam`. */
  readonly title?: string;
  /** How many values live at the peak to name (default 10; the rest are summed). */
  readonly peakValues?: number;
}

const WIDTH = 1100;
const LEFT = 80;
const RIGHT = 20;
const PANEL = 260;
const LINE = 16;

/** Escapes text for SVG content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A 1, 2 or 5 × 10^k step giving about `count` ticks up to `max`. */
export function tickStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

const n = (x: number) => String(Math.round(x * 100) / 100);

/** A closed step-function area between `bottom` and `top` (one value per step). */
export function stepArea(
  top: readonly number[],
  bottom: readonly number[],
  x: (s: number) => number,
  y: (b: number) => number,
): string {
  const last = top.length;
  if (last === 0) return "";
  let d = `M${n(x(0))},${n(y(top[0]))}`;
  for (let s = 1; s < last; s++) {
    if (top[s] !== top[s - 1]) d += `H${n(x(s))}V${n(y(top[s]))}`;
  }
  d += `H${n(x(last))}V${n(y(bottom[last - 1]))}`;
  for (let s = last - 1; s > 0; s--) {
    if (bottom[s] !== bottom[s - 1]) d += `H${n(x(s))}V${n(y(bottom[s - 1]))}`;
  }
  return `${d}H${n(x(0))}Z`;
}

/** Horizontal grid lines with MB labels from 0 to `max` bytes. */
function yAxis(top: number, max: number, y: (b: number) => number, label: string): string[] {
  const out: string[] = [];
  const step = tickStep(max);
  for (let b = 0; b <= max * 1.0001; b += step) {
    out.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${n(y(b))}" y2="${n(y(b))}" stroke="#e6e6e6"/>`,
      `<text x="${LEFT - 6}" y="${n(y(b) + 4)}" text-anchor="end">${
        Number((b / 1e6).toFixed(2))
      }</text>`,
    );
  }
  out.push(
    `<text transform="translate(16,${n(top + PANEL / 2)}) rotate(-90)" text-anchor="middle">${
      escapeXml(label)
    }</text>`,
  );
  return out;
}

/** Step ticks under a panel whose bottom edge is at `bottom`. */
function xAxis(bottom: number, steps: number, x: (s: number) => number): string[] {
  const out = [
    `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${bottom}" y2="${bottom}" stroke="#444"/>`,
  ];
  const step = tickStep(steps, 8);
  for (let s = 0; s <= steps; s += step) {
    out.push(
      `<line x1="${n(x(s))}" x2="${n(x(s))}" y1="${bottom}" y2="${bottom + 4}" stroke="#444"/>`,
      `<text x="${n(x(s))}" y="${bottom + 16}" text-anchor="middle">${s}</text>`,
    );
  }
  return out;
}

/** The forward | backward divider over a panel, labelled under its bottom edge. */
function phaseLine(top: number, at: number, x: (s: number) => number): string[] {
  if (at < 0) return [];
  const bottom = top + PANEL;
  return [
    `<line x1="${n(x(at))}" x2="${n(x(at))}" y1="${top}" y2="${
      bottom + 28
    }" stroke="#555" stroke-dasharray="2,3"/>`,
    `<text x="${n(x(at) - 4)}" y="${bottom + 28}" text-anchor="end" fill="#555">forward</text>`,
    `<text x="${n(x(at) + 4)}" y="${bottom + 28}" fill="#555">backward</text>`,
  ];
}

/**
 * The plan as an SVG document: (1) live bytes per schedule step, stacked
 * bottom to top as weights, gradients, optimizer state, input batch, saved
 * activations and transient values, with the peak marked and the values
 * live at the peak named; (2) the arena, each value a rectangle spanning its
 * steps and its bytes `[offset, offset + bytes)`, coloured by category.
 */
export function planPicture(plan: Plan, options: PictureOptions = {}): string {
  const t = planTimeline(plan);
  const steps = Math.max(t.steps, 1);
  const x = (s: number) => LEFT + (s / steps) * (WIDTH - LEFT - RIGHT);
  const out: string[] = [];
  let top = 20;
  if (options.title) {
    out.push(
      `<text x="${LEFT}" y="${top}" font-size="16" font-weight="bold">${
        escapeXml(options.title)
      }</text>`,
    );
    top += 20;
  }
  out.push(
    `<text x="${LEFT}" y="${top}">${
      escapeXml(
        `total ${megabytes(plan.totalBytes)} MB = weights ${megabytes(plan.weightBytes)}` +
          ` + gradients ${megabytes(plan.gradientBytes)} + optimizer ${
            megabytes(plan.optimizerBytes)
          } (${plan.optimizer}) + arena ${megabytes(plan.arenaBytes)} MB` +
          ` (lower bound ${megabytes(plan.lowerBoundBytes)}; saved activations ${
            megabytes(plan.savedActivationBytes)
          }); ${t.steps} steps`,
      )
    }</text>`,
  );
  top += 16;

  // Legend.
  PICTURE_CATEGORIES.forEach((c, k) => {
    const lx = LEFT + k * 160;
    out.push(
      `<rect x="${lx}" y="${top}" width="12" height="12" fill="${PICTURE_COLOURS[c]}"/>`,
      `<text x="${lx + 16}" y="${top + 10}">${PICTURE_NAMES[c]}</text>`,
    );
  });
  top += 28;

  // (1) The timeline.
  out.push(`<text x="${LEFT}" y="${top}" font-weight="bold">live bytes per step</text>`);
  top += 8;
  const tMax = Math.max(t.peakBytes * 1.08, 1); // headroom for the peak marker
  const tTop = top;
  const ty = (b: number) => tTop + PANEL - (b / tMax) * PANEL;
  out.push(...yAxis(tTop, tMax, ty, "MB live"));
  let below = new Array<number>(t.steps).fill(0);
  for (const c of PICTURE_CATEGORIES) {
    const above = below.map((b, s) => b + t.live[c][s]);
    if (t.live[c].some((b) => b > 0)) {
      out.push(
        `<path d="${stepArea(above, below, x, ty)}" fill="${PICTURE_COLOURS[c]}"><title>${
          PICTURE_NAMES[c]
        }</title></path>`,
      );
    }
    below = above;
  }
  out.push(...phaseLine(tTop, t.backwardStep, x), ...xAxis(tTop + PANEL, t.steps, x));
  if (t.peakStep >= 0) {
    const px = x(t.peakStep + 0.5);
    const anchor = px > WIDTH / 2 ? "end" : "start";
    out.push(
      `<line x1="${n(px)}" x2="${n(px)}" y1="${tTop}" y2="${
        tTop + PANEL
      }" stroke="#000" stroke-width="1.5"/>`,
      `<circle cx="${n(px)}" cy="${n(ty(t.peakBytes))}" r="4" fill="#000"/>`,
      `<text x="${n(anchor === "end" ? px - 6 : px + 6)}" y="${
        tTop + 28
      }" text-anchor="${anchor}" font-weight="bold">${
        escapeXml(
          `peak ${megabytes(t.peakBytes)} MB at step ${t.peakStep} (arena ${
            megabytes(t.peakArenaBytes)
          } MB)`,
        )
      }</text>`,
    );
  }
  top = tTop + PANEL + 40;

  // The values live at the peak.
  const live = t.peakStep >= 0 ? liveAt(plan, t.peakStep) : [];
  const shown = live.slice(0, options.peakValues ?? 10);
  out.push(
    `<text x="${LEFT}" y="${top}" font-weight="bold">${
      escapeXml(`live in the arena at step ${t.peakStep}: ${live.length} values`)
    }</text>`,
  );
  top += LINE;
  for (const r of shown) {
    out.push(
      `<rect x="${LEFT}" y="${top - 10}" width="10" height="10" fill="${
        PICTURE_COLOURS[r.category]
      }"/>`,
      `<text x="${LEFT + 80}" y="${top}" text-anchor="end">${megabytes(r.bytes)} MB</text>`,
      `<text x="${LEFT + 90}" y="${top}">${escapeXml(valueLabel(plan, r.index))}</text>`,
    );
    top += LINE;
  }
  const rest = live.slice(shown.length);
  if (rest.length > 0) {
    const bytes = rest.reduce((s, r) => s + r.bytes, 0);
    out.push(
      `<text x="${LEFT + 90}" y="${top}">${
        escapeXml(`and ${rest.length} smaller values, ${megabytes(bytes)} MB`)
      }</text>`,
    );
    top += LINE;
  }
  top += 20;

  // (2) The arena.
  out.push(
    `<text x="${LEFT}" y="${top}" font-weight="bold">${
      escapeXml(`the arena: ${megabytes(plan.arenaBytes)} MB, offset × step`)
    }</text>`,
  );
  top += 8;
  const aTop = top;
  const aMax = Math.max(plan.arenaBytes, 1);
  const ay = (b: number) => aTop + PANEL - (b / aMax) * PANEL;
  out.push(...yAxis(aTop, aMax, ay, "arena offset (MB)"));
  for (const r of arenaRects(plan)) {
    out.push(
      `<rect x="${n(x(r.first))}" y="${n(ay(r.offset + r.bytes))}" width="${
        n(x(r.last + 1) - x(r.first))
      }" height="${n((r.bytes / aMax) * PANEL)}" fill="${PICTURE_COLOURS[r.category]}"` +
        ` stroke="#333" stroke-width="0.2"><title>${
          escapeXml(`${valueLabel(plan, r.index)}: ${megabytes(r.bytes)} MB`)
        }</title></rect>`,
    );
  }
  out.push(...phaseLine(aTop, t.backwardStep, x), ...xAxis(aTop + PANEL, t.steps, x));
  top = aTop + PANEL + 36;
  out.push(
    `<text x="${WIDTH - RIGHT}" y="${top - 8}" text-anchor="end">schedule step</text>`,
  );

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}"` +
    ` font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${top}" fill="#fff"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
