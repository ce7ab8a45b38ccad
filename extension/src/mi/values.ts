// The shapes of GDB/MI output (records and the values inside them), and small
// accessors that turn them into the strings, tuples and lists callers expect.
//
// MI's grammar has three kinds of value: a c-string, a tuple `{name=value,...}`
// and a list, which is either `[value,...]` or `[name=value,...]`. Lists of
// results really do repeat names (`stack=[frame={...},frame={...}]`), so results
// are kept as ordered (name, value) pairs rather than folded into an object.

/** A `name=value` pair; order and duplicates are kept as gdb printed them. */
export interface MIResult {
  readonly name: string;
  readonly value: MIValue;
}

export interface MITuple {
  readonly kind: "tuple";
  readonly results: readonly MIResult[];
}

/** `[v1,v2]`; also what an empty list `[]` parses to. */
export interface MIValueList {
  readonly kind: "list";
  readonly values: readonly MIValue[];
}

/** `[name=v1,name=v2]` */
export interface MIResultList {
  readonly kind: "result-list";
  readonly results: readonly MIResult[];
}

/** A c-string constant is already unescaped and UTF-8 decoded. */
export type MIValue = string | MITuple | MIValueList | MIResultList;

export type MIResultClass = "done" | "running" | "connected" | "error" | "exit";

/** `[token]^class,results`: the answer to one command. */
export interface MIResultRecord {
  readonly kind: "result";
  readonly token?: number;
  readonly resultClass: MIResultClass;
  readonly results: readonly MIResult[];
}

/** `*` exec (running/stopped), `+` status (progress), `=` notify (everything else). */
export type MIAsyncChannel = "exec" | "status" | "notify";

export interface MIAsyncRecord {
  readonly kind: "async";
  readonly token?: number;
  readonly channel: MIAsyncChannel;
  /** e.g. "stopped", "running", "breakpoint-modified", "thread-group-started" */
  readonly asyncClass: string;
  readonly results: readonly MIResult[];
}

/** `~` console (CLI output), `@` target (remote program output), `&` log (gdb's own messages). */
export type MIStream = "console" | "target" | "log";

export interface MIStreamRecord {
  readonly kind: "stream";
  readonly stream: MIStream;
  readonly text: string;
}

/** The `(gdb)` line that ends each batch of output. */
export interface MIPromptRecord {
  readonly kind: "prompt";
}

/**
 * A line that is not MI: usually the debuggee's own output when it shares gdb's
 * stdout, sometimes a malformed record (then `error` says what was wrong).
 */
export interface MIOtherRecord {
  readonly kind: "other";
  readonly line: string;
  readonly error?: string;
}

export type MIRecord = MIResultRecord | MIAsyncRecord | MIStreamRecord | MIPromptRecord | MIOtherRecord;

/** Thrown by the accessors when gdb's output lacks something a wrapper relies on. */
export class MIShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MIShapeError";
  }
}

export function isTuple(v: MIValue | undefined): v is MITuple {
  return typeof v === "object" && v.kind === "tuple";
}

export function isList(v: MIValue | undefined): v is MIValueList | MIResultList {
  return typeof v === "object" && (v.kind === "list" || v.kind === "result-list");
}

/** Anything with named results: a record, or a tuple. */
export type MIResultsHolder = { readonly results: readonly MIResult[] } | readonly MIResult[];

function resultsOf(holder: MIResultsHolder): readonly MIResult[] {
  return Array.isArray(holder) ? holder : (holder as { results: readonly MIResult[] }).results;
}

/** The first value named `name`, or undefined. */
export function field(holder: MIResultsHolder, name: string): MIValue | undefined {
  for (const r of resultsOf(holder)) if (r.name === name) return r.value;
  return undefined;
}

/** Every value named `name`, in order (for the rare tuple that repeats a name). */
export function fieldsNamed(holder: MIResultsHolder, name: string): MIValue[] {
  return resultsOf(holder)
    .filter((r) => r.name === name)
    .map((r) => r.value);
}

export function optString(holder: MIResultsHolder, name: string): string | undefined {
  const v = field(holder, name);
  return typeof v === "string" ? v : undefined;
}

export function reqString(holder: MIResultsHolder, name: string): string {
  const v = field(holder, name);
  if (typeof v !== "string") throw new MIShapeError(`expected a string field "${name}" in MI output`);
  return v;
}

/** Decimal or 0x-hex numeric strings, as gdb prints counts, lines and addresses. */
export function optNumber(holder: MIResultsHolder, name: string): number | undefined {
  const s = optString(holder, name);
  if (s === undefined || s.trim() === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function reqNumber(holder: MIResultsHolder, name: string): number {
  const n = optNumber(holder, name);
  if (n === undefined) throw new MIShapeError(`expected a numeric field "${name}" in MI output`);
  return n;
}

export function optTuple(holder: MIResultsHolder, name: string): MITuple | undefined {
  const v = field(holder, name);
  return isTuple(v) ? v : undefined;
}

/**
 * The values of a list field whichever way it was written (`[a,b]` or
 * `[frame=a,frame=b]`); an absent field is an empty list.
 */
export function listValues(holder: MIResultsHolder, name: string): MIValue[] {
  const v = field(holder, name);
  if (v === undefined) return [];
  if (typeof v === "object" && v.kind === "list") return [...v.values];
  if (typeof v === "object" && v.kind === "result-list") return v.results.map((r) => r.value);
  throw new MIShapeError(`expected a list field "${name}" in MI output`);
}

/** The tuples of a list field; entries that are not tuples are skipped. */
export function listTuples(holder: MIResultsHolder, name: string): MITuple[] {
  return listValues(holder, name).filter(isTuple);
}

/** The strings of a list field such as `thread-groups=["i1"]`. */
export function listStrings(holder: MIResultsHolder, name: string): string[] {
  return listValues(holder, name).filter((v): v is string => typeof v === "string");
}
