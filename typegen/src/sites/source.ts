// Allocation calls in C source, from clang's JSON AST (`clang -Xclang -ast-dump=json
// -fsyntax-only` with the compile's -I/-D flags): each call to an allocation function (the
// malloc family and the wrappers declared in LIBALLOCS_ALLOC_FNS, decls.ts) with the
// file:line:column of the call and a classification of its size, liballocs's "sizeofness":
//
//   sizeof(T)                      -> T                (sizeof(U[n]) -> an array of U)
//   n * sizeof(T), calloc(n, sizeof(T)), argc * sizeof x  -> an array of T sized by the chunk
//   sizeof(T) + n * sizeof(U)      -> T with a trailing array
//   offsetof(T, f) + k             -> T (TRAILING when T ends in a flexible array member)
//   sizeof(a) / sizeof(a[0])       -> a count, not a type
//   42, n, strlen(s) + 1           -> no sizeof at all: an array of char, unless the pointer
//                                     type the result is cast or assigned to names another type
//
// Sizes flow through variables: a local (or global) assigned a size expression carries its
// sizeofness to where it is used (`size_t n = sizeof(struct s) * k; malloc(n)`), in source
// order, with compound assignments (`n *= sizeof(T)`) combined. The cast of the call's result
// (explicit, or the implicit one when it is assigned to a typed pointer) breaks ties.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AllocFn, allocFunctions } from "./decls";
import { forEachTopLevelElement } from "./json-stream";

/** What the analysis says about one call's size. `alt` is the desugared spelling of `type`. */
export type SizeClass =
  | { kind: "single" | "array" | "trailing" | "offsetof"; type: string; alt?: string }
  /** No sizeof at all: an array of char, or (receiver given) the receiving pointer's pointee;
   * `value` when the size is a constant. */
  | { kind: "bytes"; value?: number; receiver?: string }
  | { kind: "unknown"; why: string };

export interface SourceCall {
  file: string;
  line: number;
  col: number;
  callee: string;
  size: SizeClass;
}

interface QualType {
  qualType: string;
  desugaredQualType?: string;
}
interface AstNode {
  id?: string;
  kind?: string;
  name?: string;
  opcode?: string;
  value?: string;
  castKind?: string;
  type?: QualType;
  argType?: QualType;
  referencedDecl?: { id?: string; name?: string; kind?: string };
  loc?: AstLoc;
  range?: { begin: AstLoc; end: AstLoc };
  inner?: AstNode[];
  /** Set by the location pass: where the node begins (macro expansion site). */
  at?: Where;
}
interface AstLoc {
  offset?: number;
  file?: string;
  line?: number;
  col?: number;
  spellingLoc?: AstLoc;
  expansionLoc?: AstLoc;
}
interface Where {
  file: string;
  line: number;
  col: number;
  offset?: number;
}

/** Sizeofness of an expression (see the header). */
type SizeVal =
  | { k: "plain"; value?: number }
  | { k: "sizeof" | "array" | "trailing" | "offsetof"; type: string; alt?: string; other?: string }
  | { k: "count" };

const PLAIN: SizeVal = { k: "plain" };
const PASS_THROUGH = new Set(["ImplicitCastExpr", "ParenExpr", "CStyleCastExpr", "ConstantExpr"]);

function strip(n: AstNode | undefined): AstNode | undefined {
  while (n && PASS_THROUGH.has(n.kind ?? "") && n.inner?.length) n = n.inner[0];
  return n;
}

function clean(t: string): string {
  return t
    .replace(/\b(const|volatile|restrict|__restrict)\b/g, "")
    .replace(/\s+/g, " ")
    .replace(/\s*\[/g, "[")
    .trim();
}

/** "T *" -> "T" (simple pointers only: not function pointers or pointers to arrays). */
export function pointee(t: string | undefined): string | undefined {
  if (!t) return undefined;
  const c = clean(t);
  if (!c.endsWith("*") || c.includes("(")) return undefined;
  return c.slice(0, -1).trim();
}

const CHARS = new Set(["char", "signed char", "unsigned char", "void"]);

/** A sizeof of type spelling t: sizeof(U[n]) counts as an array of U. */
function sizeofOf(t: QualType): SizeVal {
  const q = clean(t.qualType);
  const d = t.desugaredQualType ? clean(t.desugaredQualType) : undefined;
  const arr = /^([^[]+?)\s*\[.*\]$/.exec(q);
  if (arr) return { k: "array", type: arr[1], alt: d ? /^([^[]+?)\s*\[/.exec(d)?.[1] : undefined };
  return { k: "sizeof", type: q, alt: d && d !== q ? d : undefined };
}

const isTyped = (v: SizeVal): v is Extract<SizeVal, { type: string }> =>
  v.k === "sizeof" || v.k === "array" || v.k === "trailing" || v.k === "offsetof";

class Analysis {
  /** Variable declaration id -> the sizeofness last assigned to it. */
  private env = new Map<string, SizeVal>();
  private sources = new Map<string, Buffer | null>();
  readonly calls: SourceCall[] = [];

  constructor(
    private mainFile: string,
    private fns: Map<string, AllocFn>,
  ) {}

  private text(file: string): Buffer | null {
    let b = this.sources.get(file);
    if (b === undefined) {
      try {
        b = fs.readFileSync(file);
      } catch {
        b = null;
      }
      this.sources.set(file, b);
    }
    return b;
  }

  /** clang's JSON omits offsetof's type: read it from the source at the expression's start,
   * `offsetof(T, f)` or `__builtin_offsetof(T, f)`. */
  private offsetofType(n: AstNode): string | undefined {
    const at = n.at;
    if (!at || at.offset === undefined) return undefined;
    const src = this.text(at.file);
    if (!src || at.offset >= src.length) return undefined;
    const s = src.subarray(at.offset, Math.min(src.length, at.offset + 400)).toString("latin1");
    const m = /^(?:__builtin_offsetof|offsetof)\s*\(/.exec(s);
    if (!m) return undefined;
    let depth = 0;
    for (let i = m[0].length; i < s.length; i++) {
      const c = s[i];
      if (c === "(" || c === "[") depth++;
      else if (c === ")" || c === "]") depth--;
      else if (c === "," && depth === 0) return clean(s.slice(m[0].length, i)) || undefined;
      if (depth < 0) break;
    }
    return undefined;
  }

  /** The sizeofness of an expression, under the current variable environment. */
  eval(e: AstNode | undefined): SizeVal {
    const n = strip(e);
    if (!n) return PLAIN;
    switch (n.kind) {
      case "IntegerLiteral":
        return { k: "plain", value: Number(n.value) };
      case "UnaryExprOrTypeTraitExpr":
        if (n.name !== "sizeof") return PLAIN;
        if (n.argType) return sizeofOf(n.argType);
        return n.inner?.[0]?.type ? sizeofOf(n.inner[0].type) : PLAIN;
      case "OffsetOfExpr": {
        const t = this.offsetofType(n);
        return t ? { k: "offsetof", type: t } : PLAIN;
      }
      case "DeclRefExpr": {
        const id = n.referencedDecl?.id;
        return (id && this.env.get(id)) || PLAIN;
      }
      case "UnaryOperator":
        return n.opcode === "-" || n.opcode === "~" || n.opcode === "+" ? this.eval(n.inner?.[0]) : PLAIN;
      case "ConditionalOperator": {
        const [, a, b] = n.inner ?? [];
        const va = this.eval(a);
        return va.k !== "plain" ? va : this.eval(b);
      }
      case "BinaryOperator":
        if (n.opcode === ",") return this.eval(n.inner?.[1]);
        return this.combine(n.opcode ?? "", this.eval(n.inner?.[0]), this.eval(n.inner?.[1]));
      default:
        return PLAIN;
    }
  }

  combine(op: string, a: SizeVal, b: SizeVal): SizeVal {
    switch (op) {
      case "*": {
        if (a.k === "plain" && b.k === "plain")
          return {
            k: "plain",
            value: a.value !== undefined && b.value !== undefined ? a.value * b.value : undefined,
          };
        if (isTyped(a) && b.k !== "plain" && !isTyped(b)) return this.times(a, b);
        if (isTyped(b) && !isTyped(a)) return this.times(b, a);
        if (isTyped(a)) return this.times(a, b);
        return a.k === "count" ? b : a;
      }
      case "+": {
        if (a.k === "plain" && b.k === "plain")
          return {
            k: "plain",
            value: a.value !== undefined && b.value !== undefined ? a.value + b.value : undefined,
          };
        if (a.k === "offsetof") return a;
        if (b.k === "offsetof") return b;
        // sizeof(T) + (anything with a sizeof): T followed by a trailing array.
        if (a.k === "sizeof" && (isTyped(b) || b.k === "plain"))
          return { k: "trailing", type: a.type, alt: a.alt, other: b.k === "sizeof" ? b.type : undefined };
        if (b.k === "sizeof" && isTyped(a) && a.k !== "trailing")
          return { k: "trailing", type: b.type, alt: b.alt, other: a.k === "sizeof" ? a.type : undefined };
        if (b.k === "sizeof" && a.k === "plain") return { k: "trailing", type: b.type, alt: b.alt };
        if (a.k !== "plain") return a;
        return b;
      }
      case "-":
        if (a.k === "plain" && b.k === "plain")
          return {
            k: "plain",
            value: a.value !== undefined && b.value !== undefined ? a.value - b.value : undefined,
          };
        return a.k === "plain" ? b : a;
      case "/":
        // sizeof(a) / sizeof(a[0]), (n * sizeof(T)) / sizeof(T): a count.
        if (isTyped(b)) return isTyped(a) ? { k: "count" } : PLAIN;
        if (a.k === "plain" && b.k === "plain" && a.value !== undefined && b.value)
          return { k: "plain", value: Math.floor(a.value / b.value) };
        return a.k === "plain" ? PLAIN : a;
      case "<<":
        if (
          a.k === "plain" &&
          b.k === "plain" &&
          a.value !== undefined &&
          b.value !== undefined &&
          b.value < 32
        )
          return { k: "plain", value: a.value * 2 ** b.value };
        return a.k === "plain" ? PLAIN : isTyped(a) && a.k === "sizeof" ? { ...a, k: "array" } : a;
      case ">>":
      case "&":
      case "|":
      case "%":
        return a.k === "plain" ? PLAIN : a;
      default:
        return PLAIN;
    }
  }

  /** sizeof(T) * m: T itself when m is the literal 1, else an array of T. */
  private times(t: Extract<SizeVal, { type: string }>, m: SizeVal): SizeVal {
    if (m.k === "plain" && m.value === 1) return t;
    if (t.k === "sizeof") return { k: "array", type: t.type, alt: t.alt };
    return t;
  }

  private assign(lhs: AstNode | undefined, v: SizeVal, op = "="): void {
    const l = strip(lhs);
    const id = l?.kind === "DeclRefExpr" ? l.referencedDecl?.id : undefined;
    if (!id) return;
    if (op === "=") this.env.set(id, v);
    else this.env.set(id, this.combine(op.slice(0, -1), this.env.get(id) ?? PLAIN, v));
  }

  /** The pointee of the pointer type the call's result is converted to, if any. */
  private receiver(parents: AstNode[]): string | undefined {
    for (let i = parents.length - 1; i >= 0; i--) {
      const p = parents[i];
      if (p.kind === "ParenExpr") continue;
      if ((p.kind === "ImplicitCastExpr" || p.kind === "CStyleCastExpr") && p.type) {
        const t = pointee(p.type.qualType);
        if (t && !CHARS.has(t)) return t;
        if (t === "void") continue;
        return t;
      }
      return undefined;
    }
    return undefined;
  }

  classifyCall(fn: AllocFn, args: AstNode[], parents: AstNode[]): SizeClass {
    if (fn.name === "strdup" || fn.name === "strndup") return { kind: "array", type: "char" };
    if (fn.sizeArgs.some((i) => i >= args.length)) return { kind: "unknown", why: "too few arguments" };
    let v: SizeVal | undefined;
    for (const i of fn.sizeArgs) {
      const a = this.eval(args[i]);
      v = v === undefined ? a : this.combine("*", v, a);
    }
    if (!v) return { kind: "unknown", why: "no size argument" };
    let recv: string | undefined;
    if (fn.outArg !== undefined) {
      const out = strip(args[fn.outArg]);
      if (out?.kind === "UnaryOperator" && out.opcode === "&") recv = pointee(out.inner?.[0]?.type?.qualType);
    } else recv = this.receiver(parents);
    if (recv && CHARS.has(recv)) recv = undefined;
    switch (v.k) {
      case "plain":
      case "count":
        return v.k === "plain" && v.value !== undefined
          ? { kind: "bytes", value: v.value, receiver: recv }
          : { kind: "bytes", receiver: recv };
      case "sizeof":
        return { kind: "single", type: v.type, alt: v.alt };
      case "trailing":
        // sizeof(A) + sizeof(B): the receiving pointer's type decides which one leads.
        if (v.other && recv === v.other) return { kind: "trailing", type: v.other };
        return { kind: "trailing", type: v.type, alt: v.alt };
      default:
        return { kind: v.k, type: v.type, alt: v.alt };
    }
  }

  /** Walks in document order: assignments update the environment before later uses. */
  visit(n: AstNode, parents: AstNode[], fnName: string | undefined): void {
    if (n.kind === "FunctionDecl" && n.name) fnName = n.name;
    if (n.kind === "VarDecl" && n.id && n.inner?.length)
      this.env.set(n.id, this.eval(n.inner[n.inner.length - 1]));
    if (n.kind === "BinaryOperator" && n.opcode === "=") this.assign(n.inner?.[0], this.eval(n.inner?.[1]));
    if (n.kind === "CompoundAssignOperator" && n.opcode)
      this.assign(n.inner?.[0], this.eval(n.inner?.[1]), n.opcode);
    if (n.kind === "CallExpr" && n.inner?.length && n.at) {
      const callee = strip(n.inner[0]);
      const name = callee?.kind === "DeclRefExpr" ? callee.referencedDecl?.name : undefined;
      const fn = name ? this.fns.get(name) : undefined;
      const inWrapper = fnName !== undefined && this.fns.get(fnName)?.wrapper === true;
      if (fn && !inWrapper && path.resolve(n.at.file || this.mainFile) === path.resolve(this.mainFile))
        this.calls.push({
          file: n.at.file || this.mainFile,
          line: n.at.line,
          col: n.at.col,
          callee: fn.name,
          size: this.classifyCall(fn, n.inner.slice(1), parents),
        });
    }
    if (n.inner) {
      parents.push(n);
      for (const c of n.inner) this.visit(c, parents, fnName);
      parents.pop();
    }
  }
}

/** clang prints locations delta-encoded (file and line only when they change): one pass in
 * document order gives every node its beginning (the expansion site for macro arguments). The
 * returned walker keeps its state, so top-level declarations may be walked one at a time. */
function locator(mainFile: string): (n: AstNode) => void {
  let file = mainFile;
  let line = 0;
  const see = (l: AstLoc | undefined): Where | undefined => {
    if (!l) return undefined;
    if (l.spellingLoc || l.expansionLoc) {
      see(l.spellingLoc);
      return see(l.expansionLoc);
    }
    if (l.file !== undefined) file = l.file;
    if (l.line !== undefined) line = l.line;
    return l.col !== undefined ? { file, line, col: l.col, offset: l.offset } : undefined;
  };
  const walk = (n: AstNode): void => {
    // Keys in the order clang printed them: loc, range, then inner.
    if (n.loc) see(n.loc);
    if (n.range) {
      const b = see(n.range.begin);
      see(n.range.end);
      if (b) n.at = b;
    }
    for (const c of n.inner ?? []) walk(c);
  };
  return walk;
}

/** The allocation calls of one translation unit's AST whose call is written in `mainFile`. */
export function findAllocCalls(
  ast: unknown,
  mainFile: string,
  fns: Map<string, AllocFn> = allocFunctions(),
): SourceCall[] {
  const root = ast as AstNode;
  locator(mainFile)(root);
  const a = new Analysis(mainFile, fns);
  a.visit(root, [], undefined);
  return a.calls;
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
  fns: Map<string, AllocFn> = allocFunctions(),
): SourceCall[] {
  // The AST goes to a file read back one top-level declaration at a time (json-stream.ts): a
  // large source's AST is more than one string can hold.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-ast-"));
  const astFile = path.join(dir, "ast.json");
  try {
    const fd = fs.openSync(astFile, "w");
    let r;
    try {
      r = spawnSync(clang, ["-Xclang", "-ast-dump=json", "-fsyntax-only", "-w", ...flags, file], {
        stdio: ["ignore", fd, "pipe"],
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
    } finally {
      fs.closeSync(fd);
    }
    if (r.error) throw new Error(`${clang}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${clang} could not parse ${file}:\n${r.stderr}`);
    const root: AstNode = { kind: "TranslationUnitDecl", inner: [] };
    const locate = locator(file);
    const a = new Analysis(file, fns);
    forEachTopLevelElement(astFile, (json) => {
      const decl = JSON.parse(json) as AstNode;
      locate(decl);
      a.visit(decl, [root], undefined);
    });
    return a.calls;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
