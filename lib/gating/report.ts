/**
 * Renderings of a gating sweep: a Markdown table and an SVG plot of top-1
 * accuracy against measured speed-up, one line per domain.
 * @module
 */
import type { GatingMeasurement } from "./measure.ts";

/** One measured setting of a sweep. */
export interface SweepRow extends GatingMeasurement {
  /** Target domain. */
  readonly domain: string;
  /** The gating setting (`exact`, `exact-l1`, `tau=<τ>`). */
  readonly gating: string;
  /** Ungated top-1 of the domain (same test images). */
  readonly top1Reference: number;
}

const pct = (v: number, d = 1) => `${(100 * v).toFixed(d)}`;

/** The Markdown table of a sweep. */
export function sweepTable(rows: readonly SweepRow[]): string {
  const head = "| domain | gating | top-1 % | Δ top-1 (points) | backbone FLOPs skipped % | " +
    "MFLOPs/image | ms/image | ungated ms/image | speed-up |\n|---|---|---|---|---|---|---|---|---|";
  const lines = rows.map((r) =>
    `| ${r.domain} | ${r.gating} | ${pct(r.top1, 2)} | ${pct(r.top1 - r.top1Reference, 2)} | ${
      pct(r.skippedBackbone)
    } | ${(r.flopsExecuted / 1e6).toFixed(2)} / ${(r.flopsUngated / 1e6).toFixed(2)} | ${
      r.msPerImage.toFixed(2)
    } | ${r.msPerImageUngated.toFixed(2)} | ×${(r.msPerImageUngated / r.msPerImage).toFixed(2)} |`
  );
  return `${head}\n${lines.join("\n")}\n`;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An SVG plot of top-1 (%) against measured speed-up, one polyline per domain. */
export function sweepSvg(rows: readonly SweepRow[]): string {
  const W = 640, H = 420, L = 60, R = 150, T = 30, B = 50;
  const xs = rows.map((r) => r.msPerImageUngated / r.msPerImage);
  const ys = rows.map((r) => 100 * r.top1);
  const x0 = Math.min(0.9, ...xs), x1 = Math.max(1.1, ...xs) * 1.05;
  const y0 = Math.floor(Math.min(...ys) - 2), y1 = Math.ceil(Math.max(...ys) + 2);
  const px = (v: number) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const py = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="18" font-size="13">DA³ gating: top-1 vs speed-up</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2 - 80}" y="${
      H - 12
    }">measured speed-up (ungated ms / gated ms)</text>`,
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${
      (T + H - B) / 2
    })">top-1 %</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const xv = x0 + ((x1 - x0) * k) / 4, yv = y0 + ((y1 - y0) * k) / 4;
    out.push(`<text x="${px(xv) - 10}" y="${H - B + 15}">${xv.toFixed(2)}</text>`);
    out.push(`<text x="${L - 35}" y="${py(yv) + 4}">${yv.toFixed(1)}</text>`);
  }
  const domains = [...new Set(rows.map((r) => r.domain))];
  domains.forEach((d, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = rows.map((r, j) => ({ r, x: xs[j], y: ys[j] })).filter((p) => p.r.domain === d)
      .sort((a, b) => a.x - b.x);
    out.push(
      `<polyline fill="none" stroke="${colour}" points="${
        pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")
      }"/>`,
    );
    for (const p of pts) {
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${colour}"/>`,
      );
      out.push(
        `<text x="${(px(p.x) + 4).toFixed(1)}" y="${(py(p.y) - 4).toFixed(1)}" font-size="9">${
          esc(p.r.gating)
        }</text>`,
      );
    }
    out.push(`<rect x="${W - R + 15}" y="${T + 18 * i}" width="10" height="10" fill="${colour}"/>`);
    out.push(`<text x="${W - R + 30}" y="${T + 18 * i + 9}">${esc(d)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
