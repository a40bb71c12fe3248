/**
 * Whether a stored run may be continued by this one: the two run
 * configurations are compared field by field (structurally, not as JSON
 * text), and every difference but those known to keep the continuation
 * bit-exact refuses the resume, naming the field and both values.
 * @module
 */
import { CheckpointError, type JsonValue, type RunRecord } from "../io/checkpoint.ts";

/**
 * Fields a resumed run may change: `epochs` (training more epochs continues
 * the same sequence of steps). Every other field (optimizer, lr, seed, batch,
 * data, method and its options, ...) must be equal.
 */
export const RESUME_SAFE_FIELDS: ReadonlySet<string> = new Set(["epochs"]);

/** One field that differs between two run configurations; `undefined` where a side lacks it. */
export interface RunDifference {
  /** Dotted path of the field, e.g. `optimizer.kind` or `da3.reduction`. */
  readonly field: string;
  /** Its value in the stored run. */
  readonly stored: JsonValue | undefined;
  /** Its value in this run. */
  readonly asked: JsonValue | undefined;
}

/** Thrown when `--resume` would continue a run with another configuration. */
export class ResumeError extends CheckpointError {
  /** Every differing field. */
  readonly differences: readonly RunDifference[];
  /** Creates the error for the checkpoint at `path`. */
  constructor(path: string, differences: readonly RunDifference[]) {
    const list = differences.map((d) => `${d.field} ${show(d.stored)} → ${show(d.asked)}`);
    super(
      `${path}: cannot resume: this run changes ${list.join(", ")} (stored → asked); ` +
        `only ${[...RESUME_SAFE_FIELDS].join(", ")} may change; ` +
        `drop --resume or choose another --out to start afresh`,
    );
    this.name = "ResumeError";
    this.differences = differences;
  }
}

function show(v: JsonValue | undefined): string {
  return v === undefined ? "(unset)" : JSON.stringify(v);
}

function isRecord(v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every leaf where `a` and `b` differ, by dotted path (arrays compare element-wise). */
export function jsonDifferences(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  path = "",
): RunDifference[] {
  const field = (k: string | number) => (path === "" ? String(k) : `${path}.${k}`);
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonDifferences(a[k], b[k], field(k)));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((v, i) => jsonDifferences(v, b[i], field(i)));
  }
  return a === b ? [] : [{ field: path || "(run)", stored: a, asked: b }];
}

/** `value` as plain JSON data: undefined fields dropped, as it reads back from a checkpoint. */
export function asJson<T>(value: T): RunRecord {
  return JSON.parse(JSON.stringify(value));
}

/**
 * Throws {@linkcode ResumeError} unless `asked` continues `stored` bit-exactly
 * (equal in every field but {@linkcode RESUME_SAFE_FIELDS}); a checkpoint
 * without a stored run configuration cannot be checked and is refused.
 */
export function checkResumable(
  path: string,
  stored: RunRecord | undefined,
  asked: RunRecord,
): void {
  if (stored === undefined) {
    throw new CheckpointError(
      `${path}: has no stored run configuration, so resuming it cannot be checked to continue ` +
        `bit-exactly; drop --resume or choose another --out`,
    );
  }
  const differences = jsonDifferences(stored, asked)
    .filter((d) => !RESUME_SAFE_FIELDS.has(d.field.split(".")[0]));
  if (differences.length > 0) throw new ResumeError(path, differences);
}
