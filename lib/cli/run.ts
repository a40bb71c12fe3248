/**
 * The one top-level error handler of da3's command-line tools: it prints an
 * error as `da3 <tool>: <class> (<kind>, exit <code>): <message>` and a line
 * saying what to do, and exits with the code of the error's class:
 *
 * | exit | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | bad input: a data, checkpoint, backbone or config file is missing, corrupt or does not fit |
 * | 2 | usage: an unknown flag, a missing value, a value out of range |
 * | 3 | training stopped (a non-finite loss, a lost device); the last good checkpoint is kept |
 * | 70 | internal error: a bug in da3 (printed with its stack trace) |
 *
 * Classes are told apart by `Error.name`, so that this module imports no
 * other part of da3.
 * @module
 */

/** The exit codes of da3's command-line tools. */
export const EXIT = { ok: 0, input: 1, usage: 2, stopped: 3, internal: 70 } as const;

/** The exit code of each typed error class da3 throws, by `Error.name`. */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  UsageError: EXIT.usage,
  ConfigError: EXIT.usage,
  InputError: EXIT.input,
  NotFound: EXIT.input,
  PermissionDenied: EXIT.input,
  IsADirectory: EXIT.input,
  DataError: EXIT.input,
  ChecksumError: EXIT.input,
  CheckpointError: EXIT.input,
  ResumeError: EXIT.input,
  TrainSpecError: EXIT.input,
  SafetensorsError: EXIT.input,
  BackboneError: EXIT.input,
  TorchvisionImportError: EXIT.input,
  NonFiniteError: EXIT.input,
  BudgetError: EXIT.input,
  NoAdapterError: EXIT.input,
  GatingError: EXIT.input,
  SelectionError: EXIT.input,
  TrainingError: EXIT.stopped,
  DeviceLostError: EXIT.stopped,
};

/** The exit code for an error thrown by a command-line tool (70 for anything untyped). */
export function exitCodeOf(e: unknown): number {
  return e instanceof Error ? EXIT_CODES[e.name] ?? EXIT.internal : EXIT.internal;
}

/** Bad input the user can fix: a missing or unreadable file, named with what to do about it. */
export class InputError extends Error {
  /** The file (or field) the error is about. */
  readonly file: string;
  /** What to do about it, e.g. the command that creates the file. */
  readonly hint?: string;
  /** Creates the error for `file`; `hint` says how to fix it. */
  constructor(file: string, message: string, hint?: string) {
    super(`${file}: ${message}`);
    this.name = "InputError";
    this.file = file;
    this.hint = hint;
  }
}

const KIND: Readonly<Record<number, string>> = {
  [EXIT.input]: "bad input",
  [EXIT.usage]: "usage",
  [EXIT.stopped]: "training stopped",
  [EXIT.internal]: "internal error",
};

/** What to do about an error of each class, when its message does not already say it. */
function hintFor(tool: string, e: Error, code: number): string | undefined {
  if (e instanceof InputError && e.hint) return e.hint;
  switch (e.name) {
    case "NoAdapterError":
    case "BackboneError":
    case "ResumeError":
      return undefined; // the message says what to do
    case "BudgetError":
      return "raise --budget-mb, or pick a method that needs less (see `deno task memory`)";
    case "DataError":
    case "ChecksumError":
      return "prepare or repair the data: `deno task data` (`--force` redoes it), or use " +
        "`--data embedded`";
    case "CheckpointError":
    case "SafetensorsError":
    case "NonFiniteError":
      return "the file named above is not a usable da3 file: re-create it (train it " +
        "again) or pass another path";
    case "DeviceLostError":
      return "run the same command again with --resume (or with --backend cpu)";
  }
  if (code === EXIT.usage) return `see \`deno task ${tool} --help\``;
  if (code === EXIT.stopped) {
    return "fix the cause named above, then continue from the last good checkpoint with --resume";
  }
  if (code === EXIT.input) {
    return "check the file named above (see `deno task " + tool + " --help`)";
  }
  return "this is a bug in da3: please report it with the stack trace above";
}

/** The text printed on stderr for an error of a tool (without a trailing newline). */
export function formatCliError(tool: string, e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = exitCodeOf(err);
  const head = `da3 ${tool}: ${err.name} (${KIND[code]}, exit ${code}): `;
  const body = code === EXIT.internal ? (err.stack ?? err.message) : err.message;
  const hint = hintFor(tool, err, code);
  return head + body.replaceAll("\n", "\n  ") + (hint ? `\n  what to do: ${hint}` : "");
}

/** The "exit codes" paragraph of every tool's `--help`. */
export const EXIT_CODES_HELP =
  `exit codes: 0 success, 1 bad input (a data, checkpoint or backbone file),
  2 usage (flags), 3 training stopped (last good checkpoint kept; continue with --resume),
  70 internal error (a bug)`;

/** Why a file could not be opened: `no such file`, or the system's message. */
function unopenable(e: unknown): string {
  return e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
}

/**
 * Fails with an InputError unless `path` is a readable regular file; `what`
 * names it (e.g. `checkpoint`) and `hint` says how to create it.
 */
export async function requireFile(path: string, what: string, hint: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new InputError(path, `${what} file: ${unopenable(e)}`, hint);
  }
  if (!info.isFile) throw new InputError(path, `${what} file: not a regular file`, hint);
}

/** The text of the `what` file at `path`, or an InputError naming it (`<what> file: no such file`). */
export async function readInputText(path: string, what: string, hint?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new InputError(path, `${what} file: ${unopenable(e)}`, hint);
  }
}

/** `text` (of the `what` file at `path`) as JSON, or an InputError naming the file. */
export function parseInputJson(text: string, path: string, what: string, hint?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `${what} file is not JSON: ${(e as Error).message}`, hint);
  }
}

/**
 * Runs a tool's `main` and exits the process with its exit code (0 when it
 * returns nothing), printing any error with {@linkcode formatCliError}.
 */
export async function runCli(
  tool: string,
  main: (argv: readonly string[]) => Promise<number | void> | number | void,
  argv: readonly string[] = Deno.args,
): Promise<never> {
  let code: number;
  try {
    code = (await main(argv)) ?? EXIT.ok;
  } catch (e) {
    console.error(formatCliError(tool, e));
    code = exitCodeOf(e);
  }
  Deno.exit(code);
}
