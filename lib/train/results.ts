/**
 * Training results as plain data, and their three renderings: `results.json`,
 * a Markdown table and an SVG plot of accuracy against training memory.
 * @module
 */

/** One (method, domain) run. */
export interface RunResult {
  /** Adaptation method name. */
  readonly method: string;
  /** Target domain name. */
  readonly domain: string;
  /** Top-1 accuracy on the domain's test split, in [0, 1]. */
  readonly top1: number;
  /** Top-1 accuracy on the validation split held out of its training data, when there is one. */
  readonly valTop1?: number;
  /** Trainable (per-domain) parameter count. */
  readonly paramsPerDomain: number;
  /** Training memory of one step from the plan, bytes (fp32). */
  readonly trainingBytes: number;
  /** Mean wall-clock milliseconds per training step. */
  readonly msPerStep: number;
  /** Conv and matmul FLOPs of one training step (forward and backward), from the graph. */
  readonly flopsPerStep: number;
  /** Epochs trained (absent for the linear probe, which is fitted, not trained by epochs). */
  readonly epochs?: number;
}

/** The content of `results.json`. */
export interface Results {
  /** Hash of the frozen backbone every run started from. */
  readonly backbone: string;
  /** Every run. */
  readonly runs: readonly RunResult[];
}

/** Per-method aggregates over domains. */
export interface MethodSummary {
  /** Method name. */
  readonly method: string;
  /** Mean top-1 over the method's domains. */
  readonly meanTop1: number;
  /** Standard error of that mean over domains (sample standard deviation / √domains; 0 for one domain). */
  readonly meanTop1StdErr: number;
  /** Top-1 by domain. */
  readonly top1: Readonly<Record<string, number>>;
  /** Parameters per domain (max over domains). */
  readonly paramsPerDomain: number;
  /** Training bytes (max over domains). */
  readonly trainingBytes: number;
  /** Mean ms per step. */
  readonly msPerStep: number;
  /** FLOPs per training step (max over domains). */
  readonly flopsPerStep: number;
}

/** The standard error of the mean of `xs`: sample standard deviation / √n (0 when n < 2). */
export function standardError(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

/** Groups runs by method, in first-seen order. */
export function summarize(runs: readonly RunResult[]): MethodSummary[] {
  const methods = [...new Set(runs.map((r) => r.method))];
  return methods.map((method) => {
    const rs = runs.filter((r) => r.method === method);
    const avg = (f: (r: RunResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    return {
      method,
      meanTop1: avg((r) => r.top1),
      meanTop1StdErr: standardError(rs.map((r) => r.top1)),
      top1: Object.fromEntries(rs.map((r) => [r.domain, r.top1])),
      paramsPerDomain: Math.max(...rs.map((r) => r.paramsPerDomain)),
      trainingBytes: Math.max(...rs.map((r) => r.trainingBytes)),
      msPerStep: avg((r) => r.msPerStep),
      flopsPerStep: Math.max(...rs.map((r) => r.flopsPerStep)),
    };
  });
}

const pct = (v: number) => (100 * v).toFixed(1);
const mb = (b: number) => (b / 1e6).toFixed(1);

/** A Markdown table: one row per method, top-1 per domain, mean, params, memory, speed. */
export function resultsTable(results: Results): string {
  const domains = [...new Set(results.runs.map((r) => r.domain))];
  const rows = summarize(results.runs).map((s) =>
    `| ${s.method} | ${domains.map((d) => (d in s.top1 ? pct(s.top1[d]) : "–")).join(" | ")} | ${`${
      pct(s.meanTop1)
    } ± ${pct(s.meanTop1StdErr)}`} | ${s.paramsPerDomain.toLocaleString("en-US")} | ${
      mb(s.trainingBytes)
    } | ${s.msPerStep.toFixed(0)} | ${(s.flopsPerStep / 1e9).toFixed(2)} |`
  );
  return [
    `| method | ${
      domains.join(" | ")
    } | mean top-1 ± s.e. | params/domain | training MB (fp32) | ms/step | GFLOP/step |`,
    `|---|${domains.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|`,
    ...rows,
  ].join("\n");
}

/**
 * A Markdown table of validation top-1 (the split held out of each domain's
 * training data, on which knobs are chosen): one row per method; empty when
 * no run has one.
 */
export function validationTable(results: Results): string {
  const runs = results.runs.filter((r) => r.valTop1 !== undefined);
  if (runs.length === 0) return "";
  const domains = [...new Set(runs.map((r) => r.domain))];
  const methods = [...new Set(runs.map((r) => r.method))];
  const rows = methods.map((m) => {
    const val = new Map(runs.filter((r) => r.method === m).map((r) => [r.domain, r.valTop1!]));
    const vs = [...val.values()];
    const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
    return `| ${m} | ${domains.map((d) => (val.has(d) ? pct(val.get(d)!) : "–")).join(" | ")} | ${
      pct(mean)
    } ± ${pct(standardError(vs))} |`;
  });
  return [
    `| method (validation) | ${domains.join(" | ")} | mean val top-1 ± s.e. |`,
    `|---|${domains.map(() => "---:").join("|")}|---:|`,
    ...rows,
  ].join("\n");
}

/** An SVG scatter plot: mean top-1 (y) against training memory in MB (x, log scale). */
export function resultsPlot(results: Results, width = 640, height = 400): string {
  const s = summarize(results.runs);
  const pad = 60;
  const xs = s.map((m) => Math.log10(Math.max(m.trainingBytes, 1) / 1e6));
  const lo = Math.floor(Math.min(...xs, 0)), hi = Math.ceil(Math.max(...xs, lo + 1));
  const px = (v: number) => pad + ((v - lo) / (hi - lo)) * (width - 2 * pad);
  const py = (v: number) => height - pad - v * (height - 2 * pad);
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const points = s.map((m, i) =>
    `<circle cx="${px(xs[i]).toFixed(1)}" cy="${py(m.meanTop1).toFixed(1)}" r="5" fill="${
      m.method === "da3" ? "#d62728" : "#1f77b4"
    }"/><text x="${(px(xs[i]) + 8).toFixed(1)}" y="${
      (py(m.meanTop1) - 6).toFixed(1)
    }">${m.method}</text>`
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${
      height - pad
    }" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>`,
    ...ticks.map((t) =>
      `<text x="${px(t)}" y="${height - pad + 16}" text-anchor="middle">${10 ** t} MB</text>`
    ),
    ...[0, 0.25, 0.5, 0.75, 1].map((v) =>
      `<text x="${pad - 6}" y="${py(v) + 4}" text-anchor="end">${100 * v}%</text>`
    ),
    `<text x="${width / 2}" y="${
      height - 16
    }" text-anchor="middle">training memory per step (MB, fp32, log scale)</text>`,
    `<text x="16" y="${height / 2}" transform="rotate(-90 16 ${
      height / 2
    })" text-anchor="middle">mean top-1 over target domains</text>`,
    ...points,
    `</svg>`,
  ].join("\n");
}
