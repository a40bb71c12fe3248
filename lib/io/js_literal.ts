/**
 * Reading a value out of a minified JavaScript bundle without running it: a
 * parser for the literal subset bundlers emit for data modules (objects with
 * bare or quoted keys, arrays, strings, numbers such as `.5` or `-1e-3`,
 * `!0`/`!1`, `true`/`false`/`null`), and the locator of a browserify
 * module's `exports=` value.
 * @module
 */

/** A parsed literal: JSON-like data. */
export type JsLiteral =
  | null
  | boolean
  | number
  | string
  | readonly JsLiteral[]
  | { readonly [key: string]: JsLiteral };

/** Thrown when the text is not a literal of the supported subset; names the file and offset. */
export class JsLiteralError extends Error {
  /** The file (or label) being read. */
  readonly file: string;
  /** Character offset of the fault. */
  readonly offset: number;
  /** Creates the error. */
  constructor(file: string, offset: number, message: string) {
    super(`${file}: at offset ${offset}: ${message}`);
    this.name = "JsLiteralError";
    this.file = file;
    this.offset = offset;
  }
}

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/y;
const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
  "0": "\0",
};

/** Parses one literal starting at `start`; returns it and the offset just past it. */
export function parseJsLiteral(
  text: string,
  start = 0,
  file = "<text>",
): { value: JsLiteral; end: number } {
  let i = start;
  const fail = (msg: string): never => {
    throw new JsLiteralError(file, i, msg);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const string = (): string => {
    const q = text[i++];
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i++];
      if (c === q) return out;
      if (c === "\n") fail("newline in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++];
      if (e === "u" || e === "x") {
        const n = e === "u" ? 4 : 2;
        const hex = text.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`bad \\${e} escape`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += n;
      } else out += ESCAPES[e] ?? e;
    }
  };
  const ident = (): string => {
    IDENT.lastIndex = i;
    const m = IDENT.exec(text);
    if (!m) return fail("expected a key");
    i += m[0].length;
    return m[0];
  };
  const value = (depth: number): JsLiteral => {
    if (depth > 256) fail("nesting deeper than 256");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, JsLiteral> = Object.create(null);
      ws();
      if (text[i] === "}") return i++, obj;
      for (;;) {
        ws();
        const key = text[i] === '"' || text[i] === "'" ? string() : ident();
        ws();
        if (text[i++] !== ":") fail(`expected ':' after key ${JSON.stringify(key)}`);
        if (Object.hasOwn(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`);
        obj[key] = value(depth + 1);
        ws();
        const d = text[i++];
        if (d === "}") return obj;
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: JsLiteral[] = [];
      ws();
      if (text[i] === "]") return i++, arr;
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === "]") return arr;
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"' || c === "'") return string();
    if (text.startsWith("!0", i)) return i += 2, true;
    if (text.startsWith("!1", i)) return i += 2, false;
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) return i += word.length, v;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail("expected a literal");
    i += m[0].length;
    return Number(m[0]);
  };
  const v = value(0);
  return { value: v, end: i };
}

/**
 * The value a single-module browserify bundle assigns to its module's
 * `exports` (the text after the one `{1:[function(a,b,c){b.exports=`), read
 * as a literal; the module must consist of that assignment only.
 */
export function browserifyExports(text: string, file = "<bundle>"): JsLiteral {
  const head = /\{1:\[function\(([A-Za-z_$]\w*),([A-Za-z_$]\w*),([A-Za-z_$]\w*)\)\{\2\.exports=/g;
  const matches = [...text.matchAll(head)];
  if (matches.length !== 1) {
    throw new JsLiteralError(
      file,
      0,
      `expected one browserify module assigning exports, found ${matches.length}`,
    );
  }
  const start = matches[0].index + matches[0][0].length;
  const { value, end } = parseJsLiteral(text, start, file);
  if (!text.startsWith("},{}]},{},[1])(1)});", end)) {
    throw new JsLiteralError(file, end, "module continues after its exports literal");
  }
  return value;
}
