// Format specifiers as cpptools and CodeLLDB accept them in Watch, hovers and the Debug Console:
// `expr,x` (also `,h`, `,X`), `,d`, `,o`, `,b` for the number base, `expr,[n]` and `expr,n` for
// n elements from a pointer or an array, and gdb's own `/x expr`.

/** gdb's varobj display formats. */
export type VarFormat = "hexadecimal" | "decimal" | "octal" | "binary";

const FORMATS: Record<string, VarFormat> = {
  x: "hexadecimal",
  X: "hexadecimal",
  h: "hexadecimal",
  d: "decimal",
  o: "octal",
  b: "binary",
};

export interface Specified {
  /** the expression to evaluate (with `[0]@n` when a count was given) */
  readonly expression: string;
  readonly format?: VarFormat;
  readonly count?: number;
}

/** Splits the specifiers off an expression; an expression without any comes back unchanged. */
export function parseFormatSpecifiers(text: string): Specified {
  let expression = text.trim();
  let format: VarFormat | undefined;
  let count: number | undefined;
  const gdbStyle = /^\/([xXhdob])\s+(.+)$/s.exec(expression);
  if (gdbStyle !== null) {
    format = FORMATS[gdbStyle[1]];
    expression = gdbStyle[2].trim();
  }
  // at most two trailing specifiers (`p,[4],x`), taken from the right
  for (let i = 0; i < 2; i++) {
    const m = /^(.*\S)\s*,\s*(\[\s*(\d+)\s*\]|(\d+)|([xXhdob]))$/s.exec(expression);
    if (m === null) break;
    if (m[5] !== undefined) {
      if (format !== undefined) break;
      format = FORMATS[m[5]];
    } else {
      if (count !== undefined) break;
      count = Number(m[3] ?? m[4]);
      if (count <= 0) break;
    }
    expression = m[1];
  }
  if (count !== undefined) expression = `(${expression})[0]@${count}`;
  return { expression, format, count };
}
