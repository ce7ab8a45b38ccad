// clang's JSON AST of a large translation unit (an amalgamation of a few MB of C gives GBs of
// JSON) is more than one JavaScript string can hold (0x1fffffe8 characters). It is one object,
// the TranslationUnitDecl, whose only array is `inner`, the top-level declarations: this reads
// the file in chunks and hands each top-level declaration's text over on its own, so no string
// is ever longer than one declaration.

import * as fs from "node:fs";

const CHUNK = 16 << 20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Calls `each` with the JSON text of every element of the root object's array (clang's
 * TranslationUnitDecl.inner), in order. Throws when the file is not such an object. */
export function forEachTopLevelElement(file: string, each: (json: string) => void, chunkSize = CHUNK): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(chunkSize);
    let depth = 0; // nesting of objects and arrays
    let inString = false;
    let escaped = false;
    let inArray = false; // inside the root's array (depth 2 is an element's own level)
    let parts: Buffer[] = [];
    let start = -1; // offset in the current chunk where the element being read began
    let seenRoot = false;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, chunkSize, null);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) {
        const c = buf[i];
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (c === QUOTE) inString = true;
        else if (c === LBRACE || c === LBRACKET) {
          if (depth === 0) {
            if (c !== LBRACE) throw new Error(`${file}: the AST is not a JSON object`);
            seenRoot = true;
          } else if (depth === 1 && c === LBRACKET) inArray = true;
          else if (depth === 2 && inArray) start = i;
          depth++;
        } else if (c === RBRACE || c === RBRACKET) {
          depth--;
          if (depth === 2 && inArray && start >= 0 && c === RBRACE) {
            parts.push(Buffer.from(buf.subarray(start, i + 1)));
            each(Buffer.concat(parts).toString("utf8"));
            parts = [];
            start = -1;
          } else if (depth === 1 && c === RBRACKET) inArray = false;
          if (depth < 0) throw new Error(`${file}: unbalanced JSON`);
        }
      }
      if (start >= 0) {
        parts.push(Buffer.from(buf.subarray(start, n)));
        start = 0;
      }
    }
    if (!seenRoot || depth !== 0 || inString) throw new Error(`${file}: the AST ends early (truncated JSON)`);
  } finally {
    fs.closeSync(fd);
  }
}
