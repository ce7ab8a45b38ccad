// Allocation calls in C source, from clang's JSON AST (`clang -Xclang -ast-dump=json
// -fsyntax-only` with the compile's -I/-D flags): each call to a malloc-family function with
// the file:line:column of the call and a classification of its size expression, liballocs
// style: sizeof(T) -> T; n * sizeof(T) -> an array of T sized by the chunk; sizeof(T) + n *
// sizeof(U) -> T with a trailing array; no sizeof at all (malloc(42)) -> an array of char.

import { spawnSync } from "node:child_process";
import * as path from "node:path";

export type SizeClass =
  | { kind: "single"; type: string }
  | { kind: "array"; type: string }
  | { kind: "trailing"; type: string }
  | { kind: "unknown"; why: string };

export interface SourceCall {
  file: string;
  line: number;
  col: number;
  callee: string;
  size: SizeClass;
}

/** The size argument's index per allocation function (calloc has two: count and size). */
export const ALLOC_FUNCTIONS: Record<string, number[]> = {
  malloc: [0],
  calloc: [0, 1],
  realloc: [1],
  reallocarray: [1, 2],
  aligned_alloc: [1],
  memalign: [1],
  valloc: [0],
  pvalloc: [0],
  strdup: [],
  strndup: [],
};

interface AstNode {
  kind?: string;
  name?: string;
  opcode?: string;
  value?: string;
  type?: { qualType: string; desugaredQualType?: string };
  argType?: { qualType: string; desugaredQualType?: string };
  referencedDecl?: { name?: string; kind?: string };
  range?: { begin: AstLoc; end: AstLoc };
  inner?: AstNode[];
  [k: string]: unknown;
}
interface AstLoc {
  offset?: number;
  file?: string;
  line?: number;
  col?: number;
  includedFrom?: { file: string };
  spellingLoc?: AstLoc;
  expansionLoc?: AstLoc;
}

const WRAPPERS = new Set(["ImplicitCastExpr", "ParenExpr", "CStyleCastExpr"]);

function strip(n: AstNode | undefined): AstNode | undefined {
  while (n && WRAPPERS.has(n.kind ?? "") && n.inner?.length) n = n.inner[0];
  return n;
}

function clean(t: string): string {
  return t
    .replace(/\b(const|volatile|restrict)\b/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** sizeof(T) or sizeof expr -> T, else undefined. */
function sizeofType(n: AstNode | undefined): string | undefined {
  n = strip(n);
  if (n?.kind !== "UnaryExprOrTypeTraitExpr" || n.name !== "sizeof") return undefined;
  if (n.argType) return clean(n.argType.qualType);
  const e = n.inner?.[0];
  return e?.type ? clean(e.type.qualType) : undefined;
}

function hasSizeof(n: AstNode | undefined): boolean {
  if (!n) return false;
  if (n.kind === "UnaryExprOrTypeTraitExpr" && n.name === "sizeof") return true;
  return (n.inner ?? []).some(hasSizeof);
}

function isConstant(n: AstNode | undefined): boolean {
  n = strip(n);
  if (!n) return false;
  if (n.kind === "IntegerLiteral") return true;
  if (n.kind === "BinaryOperator") return (n.inner ?? []).every(isConstant);
  return false;
}

export function classifySize(e: AstNode | undefined): SizeClass {
  const n = strip(e);
  if (!n) return { kind: "unknown", why: "no size argument" };
  const t = sizeofType(n);
  if (t) return { kind: "single", type: t };
  if (n.kind === "BinaryOperator" && n.opcode === "*") {
    const [a, b] = n.inner ?? [];
    const ta = sizeofType(a) ?? sizeofType(b);
    if (ta) return { kind: "array", type: ta };
  }
  if (n.kind === "BinaryOperator" && n.opcode === "+") {
    const [a, b] = n.inner ?? [];
    const ta = sizeofType(a);
    if (ta && hasSizeof(b)) return { kind: "trailing", type: ta };
    const tb = sizeofType(b);
    if (tb && hasSizeof(a)) return { kind: "trailing", type: tb };
  }
  if (!hasSizeof(n) && (isConstant(n) || n.kind === "DeclRefExpr" || n.kind === "BinaryOperator"))
    return { kind: "array", type: "char" };
  return { kind: "unknown", why: `size expression ${n.kind ?? "?"}` };
}

function classifyCall(callee: string, args: AstNode[]): SizeClass {
  if (callee === "strdup" || callee === "strndup") return { kind: "array", type: "char" };
  const idx = ALLOC_FUNCTIONS[callee];
  if (callee === "calloc" || callee === "reallocarray") {
    const [count, size] = callee === "calloc" ? [args[0], args[1]] : [args[1], args[2]];
    const ts = sizeofType(size) ?? sizeofType(count);
    if (ts) return { kind: "array", type: ts };
    const c = classifySize(size);
    return c.kind === "single" ? { kind: "array", type: c.type } : c;
  }
  return classifySize(args[idx[0]]);
}

/** Walks clang's JSON AST in document order. Locations are delta-encoded (file and line are
 * only printed when they change), so the walk carries the current file and line. */
export function findAllocCalls(ast: AstNode, mainFile: string): SourceCall[] {
  const out: SourceCall[] = [];
  let file = "";
  let line = 0;
  const seeLoc = (l: AstLoc | undefined): { file: string; line: number; col: number } | undefined => {
    if (!l) return undefined;
    if (l.spellingLoc || l.expansionLoc) {
      seeLoc(l.spellingLoc);
      return seeLoc(l.expansionLoc);
    }
    if (l.file !== undefined) file = l.file;
    if (l.line !== undefined) line = l.line;
    return l.col !== undefined ? { file, line, col: l.col } : undefined;
  };
  const visit = (n: AstNode): void => {
    let begin: { file: string; line: number; col: number } | undefined;
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (k === "loc") seeLoc(v as AstLoc);
      else if (k === "range") {
        const r = v as { begin: AstLoc; end: AstLoc };
        begin = seeLoc(r.begin);
        seeLoc(r.end);
      } else if (k === "inner") for (const c of v as AstNode[]) visit(c);
    }
    if (n.kind === "CallExpr" && begin && n.inner?.length) {
      const callee = strip(n.inner[0]);
      const name = callee?.kind === "DeclRefExpr" ? callee.referencedDecl?.name : undefined;
      if (name && name in ALLOC_FUNCTIONS && path.resolve(begin.file || mainFile) === path.resolve(mainFile))
        out.push({
          file: begin.file || mainFile,
          line: begin.line,
          col: begin.col,
          callee: name,
          size: classifyCall(name, n.inner.slice(1)),
        });
    }
  };
  visit(ast);
  return out;
}

/** Flags of a compile that matter to parsing: -I, -D, -U, -include, -isystem, -iquote, -std. */
export function parseFlags(args: string[]): string[] {
  const out: string[] = [];
  const withArg = new Set(["-I", "-D", "-U", "-include", "-isystem", "-iquote", "-idirafter"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (withArg.has(a) && i + 1 < args.length) out.push(a, args[++i]);
    else if (/^-(I|D|U|std=|isystem|iquote)/.test(a)) out.push(a);
  }
  return out;
}

/** Runs clang on one source; throws with clang's message when it fails. */
export function analyseSource(
  file: string,
  flags: string[],
  clang = process.env.ALLOCS_CLANG ?? "clang",
): SourceCall[] {
  const r = spawnSync(clang, ["-Xclang", "-ast-dump=json", "-fsyntax-only", "-w", ...flags, file], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.error) throw new Error(`${clang}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${clang} could not parse ${file}:\n${r.stderr}`);
  return findAllocCalls(JSON.parse(r.stdout) as AstNode, file);
}
