// C-string escaping in both directions: reading the c-strings gdb writes in MI
// output, and quoting the arguments we write in MI commands.
//
// Why bytes and not characters: gdb writes every byte of a non-ASCII character
// as an octal escape (`é` is `\303\251`), and could in principle write some raw
// and some escaped. Only after all escapes are turned back into bytes can the
// whole string be decoded as UTF-8, so the decoder works on a byte array.

/** Where a c-string ended (index just past its closing quote) and its text. */
export interface DecodedCString {
  readonly text: string;
  readonly end: number;
}

export class CStringError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "CStringError";
  }
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;

// The single-letter escapes gdb's printchar and the C language use.
const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
  a: 0x07,
  e: 0x1b,
  '"': 0x22,
  "\\": 0x5c,
  "'": 0x27,
  "?": 0x3f,
};

function isOctal(b: number): boolean {
  return b >= 0x30 && b <= 0x37;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/**
 * Decodes the c-string whose opening quote is at `bytes[start]`.
 * Throws CStringError if it is not closed before the end of the input.
 */
export function decodeCString(bytes: Uint8Array, start: number): DecodedCString {
  if (bytes[start] !== QUOTE) throw new CStringError("expected '\"'", start);
  // Fast path: most strings (addresses, names, numbers) have no escapes.
  let i = start + 1;
  while (i < bytes.length && bytes[i] !== QUOTE && bytes[i] !== BACKSLASH) i++;
  if (i < bytes.length && bytes[i] === QUOTE) {
    return {
      text: Buffer.from(bytes.buffer, bytes.byteOffset + start + 1, i - start - 1).toString("utf8"),
      end: i + 1,
    };
  }
  // Escapes only shrink the text, so the raw length bounds the output.
  const out = Buffer.allocUnsafe(bytes.length - start);
  let n = 0;
  for (let j = start + 1; j < i; j++) out[n++] = bytes[j];
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === QUOTE) return { text: out.toString("utf8", 0, n), end: i + 1 };
    if (b !== BACKSLASH) {
      out[n++] = b;
      i++;
      continue;
    }
    i++;
    if (i >= bytes.length) break;
    const e = bytes[i];
    if (isOctal(e)) {
      // Up to three octal digits: one byte.
      let v = 0;
      let k = 0;
      while (k < 3 && i < bytes.length && isOctal(bytes[i])) {
        v = v * 8 + (bytes[i] - 0x30);
        i++;
        k++;
      }
      out[n++] = v & 0xff;
      continue;
    }
    if (e === 0x78 /* x */ && i + 1 < bytes.length && hexValue(bytes[i + 1]) >= 0) {
      let v = 0;
      i++;
      while (i < bytes.length && hexValue(bytes[i]) >= 0) {
        v = v * 16 + hexValue(bytes[i]);
        i++;
      }
      out[n++] = v & 0xff;
      continue;
    }
    const simple = SIMPLE_ESCAPES[String.fromCharCode(e)];
    // An unknown escape stands for the character itself, as in gdb's parse_escape.
    out[n++] = simple ?? e;
    i++;
  }
  throw new CStringError("unterminated c-string", start);
}

/**
 * Characters that may appear in an MI argument without quotes. gdb's MI input
 * splits unquoted arguments at whitespace only, but quoting anything unusual
 * keeps us independent of how gdb treats the rest (and of option parsing).
 */
const BARE_ARGUMENT = /^[A-Za-z0-9_\-+.,:/*$@=<>!%&|^~#()[\]{}?']+$/;

/**
 * Writes `text` as an MI c-string argument: `"`, `\` and control characters are
 * escaped; non-ASCII text is passed as raw UTF-8, which gdb's MI parser copies
 * byte for byte (tested against gdb 13 for both raw and octal forms).
 */
export function quoteCString(text: string): string {
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default: {
        const c = ch.codePointAt(0) ?? 0;
        // Other control characters would end or corrupt the command line.
        out += c < 0x20 || c === 0x7f ? "\\" + c.toString(8).padStart(3, "0") : ch;
      }
    }
  }
  return out + '"';
}

/** One MI argument: bare when that is unambiguous, otherwise a c-string. */
export function quoteArgument(arg: string): string {
  return BARE_ARGUMENT.test(arg) ? arg : quoteCString(arg);
}
