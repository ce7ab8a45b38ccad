// GDB/MI 3 output parser: one line of gdb's stdout in, one typed record out,
// plus a splitter that cuts gdb's byte stream into lines.
//
// Grammar (gdb manual, "GDB/MI Output Syntax"):
//   result-record    [token] "^" result-class ("," result)*
//   async-record     [token] ("*" | "+" | "=") async-class ("," result)*
//   stream-record    ("~" | "@" | "&") c-string
//   prompt           "(gdb)"
//   result           variable "=" value
//   value            c-string | "{" [result ("," result)*] "}" | "[" [value ("," value)*] "]"
//                    | "[" result ("," result)* "]"
// Lines are parsed as bytes, not text, because c-strings carry UTF-8 as octal
// escapes that must be reassembled before decoding (see cstring.ts).
// A line that is not MI (the debuggee printing to a shared stdout) or that is
// malformed becomes an "other" record instead of an exception: one bad line
// must never take the whole session down.

import { CStringError, decodeCString } from "./cstring";
import type { MIAsyncChannel, MIRecord, MIResult, MIResultClass, MIStream, MIValue } from "./values";

class MIParseError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const RESULT_CLASSES: ReadonlySet<string> = new Set(["done", "running", "connected", "error", "exit"]);

const ASYNC_CHANNELS: Record<number, MIAsyncChannel> = {
  0x2a /* * */: "exec",
  0x2b /* + */: "status",
  0x3d /* = */: "notify",
};

const STREAMS: Record<number, MIStream> = {
  0x7e /* ~ */: "console",
  0x40 /* @ */: "target",
  0x26 /* & */: "log",
};

const COMMA = 0x2c;
const EQUALS = 0x3d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const CARET = 0x5e;

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** Recursive descent over one line's bytes. */
class LineParser {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  peek(): number {
    return this.pos < this.bytes.length ? this.bytes[this.pos] : -1;
  }

  fail(message: string): never {
    throw new MIParseError(message, this.pos);
  }

  expect(b: number): void {
    if (this.peek() !== b) this.fail(`expected '${String.fromCharCode(b)}'`);
    this.pos++;
  }

  /** Leading decimal digits, if any. */
  token(): number | undefined {
    const start = this.pos;
    while (isDigit(this.peek())) this.pos++;
    if (this.pos === start) return undefined;
    return Number(Buffer.from(this.bytes.subarray(start, this.pos)).toString("latin1"));
  }

  /** A class or variable name: everything up to a separator. */
  word(stops: readonly number[]): string {
    const start = this.pos;
    while (!this.atEnd && !stops.includes(this.peek())) this.pos++;
    return Buffer.from(this.bytes.subarray(start, this.pos)).toString("utf8");
  }

  cString(): string {
    try {
      const { text, end } = decodeCString(this.bytes, this.pos);
      this.pos = end;
      return text;
    } catch (e) {
      if (e instanceof CStringError) throw new MIParseError(e.message, e.position);
      throw e;
    }
  }

  /** `("," result)*` up to the end of the line. */
  resultsToEnd(): MIResult[] {
    const results: MIResult[] = [];
    while (!this.atEnd) {
      this.expect(COMMA);
      results.push(this.result(results));
    }
    return results;
  }

  /**
   * `name=value`, or a bare value where gdb breaks its own grammar:
   * - MI2 printed multi-location breakpoints as `bkpt={..},{..}`; the bare
   *   tuple is kept under the previous name, so `-i=mi2` output still parses;
   * - gdb 13 prints a dprintf's commands as `script={"printf ..."}`, a tuple
   *   of bare strings; with no previous name they get the name "".
   */
  result(previous: readonly MIResult[]): MIResult {
    const b = this.peek();
    if (b === LBRACE || b === LBRACKET || b === QUOTE) {
      const name = previous.length > 0 ? previous[previous.length - 1].name : "";
      return { name, value: this.value() };
    }
    const name = this.word([EQUALS, COMMA, RBRACE, RBRACKET]);
    if (name === "") this.fail("expected a result name");
    this.expect(EQUALS);
    return { name, value: this.value() };
  }

  value(): MIValue {
    const b = this.peek();
    if (b === QUOTE) return this.cString();
    if (b === LBRACE) return this.tuple();
    if (b === LBRACKET) return this.list();
    return this.fail("expected a value");
  }

  tuple(): MIValue {
    this.expect(LBRACE);
    const results: MIResult[] = [];
    if (this.peek() === RBRACE) {
      this.pos++;
      return { kind: "tuple", results };
    }
    for (;;) {
      results.push(this.result(results));
      if (this.peek() === RBRACE) break;
      this.expect(COMMA);
    }
    this.pos++;
    return { kind: "tuple", results };
  }

  /** A list holds either values or results; the first element decides. */
  list(): MIValue {
    this.expect(LBRACKET);
    if (this.peek() === RBRACKET) {
      this.pos++;
      return { kind: "list", values: [] };
    }
    const b = this.peek();
    if (b === QUOTE || b === LBRACE || b === LBRACKET) {
      const values: MIValue[] = [];
      for (;;) {
        values.push(this.value());
        if (this.peek() === RBRACKET) break;
        this.expect(COMMA);
      }
      this.pos++;
      return { kind: "list", values };
    }
    const results: MIResult[] = [];
    for (;;) {
      results.push(this.result(results));
      if (this.peek() === RBRACKET) break;
      this.expect(COMMA);
    }
    this.pos++;
    return { kind: "result-list", results };
  }
}

function toBytes(line: string | Uint8Array): Uint8Array {
  return typeof line === "string" ? Buffer.from(line, "utf8") : line;
}

function stripLineEnd(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0d || bytes[end - 1] === 0x0a)) end--;
  return end === bytes.length ? bytes : bytes.subarray(0, end);
}

function isPrompt(bytes: Uint8Array): boolean {
  // "(gdb)" possibly followed by spaces.
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 16))).toString("latin1");
  return bytes.length <= 16 && text.trimEnd() === "(gdb)";
}

/**
 * Parses one line of MI output (without or with its line ending). Never throws:
 * anything that is not a well-formed record comes back as `kind: "other"`.
 */
export function parseRecord(line: string | Uint8Array): MIRecord {
  const bytes = stripLineEnd(toBytes(line));
  if (isPrompt(bytes)) return { kind: "prompt" };
  const p = new LineParser(bytes);
  const text = (): string => Buffer.from(bytes).toString("utf8");
  try {
    const token = p.token();
    const sigil = p.peek();
    if (sigil === CARET) {
      p.expect(CARET);
      const resultClass = p.word([COMMA]);
      if (!RESULT_CLASSES.has(resultClass)) {
        return { kind: "other", line: text(), error: `unknown result class "${resultClass}"` };
      }
      const results = p.resultsToEnd();
      return withToken({ kind: "result", resultClass: resultClass as MIResultClass, results }, token);
    }
    const channel = ASYNC_CHANNELS[sigil];
    if (channel !== undefined) {
      p.expect(sigil);
      const asyncClass = p.word([COMMA]);
      if (asyncClass === "") return { kind: "other", line: text(), error: "missing async class" };
      const results = p.resultsToEnd();
      return withToken({ kind: "async", channel, asyncClass, results }, token);
    }
    const stream = STREAMS[sigil];
    if (stream !== undefined && token === undefined) {
      p.expect(sigil);
      const streamText = p.cString();
      if (!p.atEnd) p.fail("text after a stream record's c-string");
      return { kind: "stream", stream, text: streamText };
    }
    return { kind: "other", line: text() };
  } catch (e) {
    if (e instanceof MIParseError) {
      return { kind: "other", line: text(), error: `${e.message} at column ${e.position}` };
    }
    throw e;
  }
}

// Keeps `token` absent (not `undefined`) when gdb printed none, so that
// deep-equality in tests and JSON logs stay clean.
function withToken<T extends object>(record: T, token: number | undefined): T & { token?: number } {
  return token === undefined ? record : { ...record, token };
}

/**
 * Cuts gdb's stdout into lines. Chunks from a pipe end anywhere (even inside a
 * multi-byte character), so bytes are buffered until a newline arrives.
 */
export class MILineSplitter {
  private pending: Buffer[] = [];

  /** Returns every complete line (without "\n") the chunk finishes. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.pending.length > 0) {
        this.pending.push(piece);
        lines.push(Buffer.concat(this.pending));
        this.pending = [];
      } else {
        lines.push(piece);
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }

  /** Whatever is left when the stream ends without a final newline. */
  flush(): Buffer | undefined {
    if (this.pending.length === 0) return undefined;
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    return rest;
  }
}

/** Parses a whole transcript (e.g. a fixture file) into records, one per line. */
export function parseTranscript(text: string | Uint8Array): MIRecord[] {
  const splitter = new MILineSplitter();
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text);
  const lines = splitter.push(bytes);
  const rest = splitter.flush();
  if (rest !== undefined) lines.push(rest);
  return lines.filter((l) => l.length > 0).map((l) => parseRecord(l));
}
