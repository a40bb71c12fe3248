/**
 * The one flag parser of da3's command-line tools: `node:util` `parseArgs`
 * reads the tokens, zod validates the values, and every mistake is a
 * {@linkcode UsageError} naming the flag, what it allows and what it got.
 *
 * A literal `--` is ignored wherever it appears (`deno task memory -- --json`
 * forwards it), and a string flag takes a value that starts with a dash when
 * the value is a number (`--epochs -1` reports the range of `--epochs`).
 * @module
 */
import { parseArgs } from "node:util";
import type { z } from "zod";

/** One flag: its kind, an optional one-letter alias and the placeholder of its value. */
export interface FlagSpec {
  /** `string` flags take a value, `boolean` flags take none. */
  readonly type: "string" | "boolean";
  /** A one-letter alias, e.g. `h` for `-h`. */
  readonly short?: string;
}

/** The flags of one command, keyed by their long names (without `--`). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The raw values of the flags given on a command line, keyed by long name. */
export type RawFlags = Record<string, string | boolean>;

/** A command-line mistake: an unknown flag, a missing value, a value out of range (exit code 2). */
export class UsageError extends Error {
  /** The flag the mistake is about (with its dashes), when there is one. */
  readonly flag?: string;
  /** Creates the error; `flag` is e.g. `--epochs`. */
  constructor(message: string, flag?: string) {
    super(message);
    this.name = "UsageError";
    this.flag = flag;
  }
}

const looksLikeFlag = (v: string) => v.startsWith("-") && !Number.isFinite(Number(v));

/** `--a, --b, -h/--help`: the known flags, for messages. */
export function knownFlags(specs: FlagSpecs): string {
  return Object.entries(specs).map(([k, s]) => (s.short ? `-${s.short}/--${k}` : `--${k}`))
    .join(", ");
}

/**
 * Reads the flags of `argv` as raw strings and booleans, checking only their
 * form: every flag known, a value for each string flag and none for a boolean
 * one, no positional argument.
 */
export function readFlags(argv: readonly string[], specs: FlagSpecs): RawFlags {
  const { tokens } = parseArgs({
    args: argv.filter((a) => a !== "--"),
    options: specs,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: RawFlags = {};
  for (const t of tokens) {
    if (t.kind === "positional") {
      throw new UsageError(
        `unexpected argument "${t.value}": every value follows its flag (known: ${
          knownFlags(specs)
        })`,
      );
    }
    if (t.kind !== "option") continue;
    const spec = specs[t.name];
    if (!spec) {
      throw new UsageError(`unknown flag ${t.rawName} (known: ${knownFlags(specs)})`, t.rawName);
    }
    const flag = `--${t.name}`;
    if (spec.type === "boolean") {
      if (t.value !== undefined) {
        throw new UsageError(`${flag} takes no value; got "${t.value}"`, flag);
      }
      out[t.name] = true;
    } else {
      if (t.value === undefined || (!t.inlineValue && looksLikeFlag(t.value))) {
        throw new UsageError(
          `${flag} needs a value${t.value === undefined ? "" : ` (got the flag ${t.value})`}`,
          flag,
        );
      }
      out[t.name] = t.value;
    }
  }
  return out;
}

/** What a zod issue asks for, in words: `must be ≥ 1`, `must be one of a, b`. */
export function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    case "too_small": {
      const n = String(issue.minimum);
      if (issue.origin === "array") return `needs at least ${n} value(s)`;
      if (issue.origin === "string") return "must not be empty";
      return `must be ${issue.inclusive ? "≥" : ">"} ${n}`;
    }
    case "too_big": {
      const n = String(issue.maximum);
      if (issue.origin === "array") return `takes at most ${n} value(s)`;
      return `must be ${issue.inclusive ? "≤" : "<"} ${n}`;
    }
    case "invalid_type":
      return issue.expected === "int" ? "must be an integer" : `must be a ${issue.expected}`;
    case "unrecognized_keys":
      return `has unknown field(s) ${issue.keys.join(", ")}`;
    default:
      return issue.message;
  }
}

/**
 * One line per zod issue: `<name> must be ≥ 1; got "-1"`, where `name(path)`
 * says what the user typed (e.g. `--epochs`) and `got(path)` the value given.
 */
export function issueLines(
  issues: readonly z.core.$ZodIssue[],
  name: (path: readonly PropertyKey[]) => string,
  got: (path: readonly PropertyKey[]) => unknown,
): string[] {
  return issues.map((issue) => {
    const value = got(issue.path);
    const shown = typeof value === "string" ? `; got ${JSON.stringify(value)}` : "";
    if (issue.code === "custom") return `${name(issue.path)}: ${issue.message}${shown}`;
    return `${name(issue.path)} ${issueText(issue)}${shown}`;
  });
}

/**
 * Reads and validates `argv`: {@linkcode readFlags}, then `schema` on the raw
 * values (use `z.coerce.number()` for numbers). Every issue becomes a line of
 * one UsageError naming its flag.
 */
export function parseFlags<S extends z.ZodType>(
  argv: readonly string[],
  specs: FlagSpecs,
  schema: S,
): z.output<S> {
  const raw = readFlags(argv, specs);
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const flagOf = (path: readonly PropertyKey[]) =>
    path.length > 0 ? `--${String(path[0])}` : "the flags";
  const lines = issueLines(
    r.error.issues,
    flagOf,
    (p) => (p.length > 0 ? raw[String(p[0])] : undefined),
  );
  const first = r.error.issues[0].path;
  throw new UsageError(lines.join("\n"), first.length > 0 ? flagOf(first) : undefined);
}
