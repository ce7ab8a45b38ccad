// Typed views of the tuples gdb returns (frames, breakpoints, threads,
// variables, varobjs, memory, instructions) and the decoders that build them.
// Shared by command results (commands.ts) and async records (async-events.ts),
// which print the same tuples.
//
// Addresses stay strings as gdb printed them ("0x00005555555551ee"): a DAP
// memoryReference is such a string, and 64-bit addresses do not fit a number.
// Memory contents and bounds are bigint/bytes because callers do arithmetic.

import {
  field,
  isTuple,
  listStrings,
  listTuples,
  optNumber,
  optString,
  reqString,
  type MIResultsHolder,
  type MITuple,
} from "./values";

export interface MIFrameArgument {
  readonly name: string;
  readonly value?: string;
}

export interface MIFrame {
  /** absent in stop events, present in stack listings */
  readonly level?: number;
  readonly addr: string;
  readonly func?: string;
  readonly file?: string;
  readonly fullname?: string;
  readonly line?: number;
  /** the shared object, when there is no line information */
  readonly from?: string;
  readonly arch?: string;
  /** only in stop events and -thread-info */
  readonly args?: readonly MIFrameArgument[];
}

export function decodeFrame(t: MIResultsHolder): MIFrame {
  const argsField = field(t, "args");
  return {
    level: optNumber(t, "level"),
    addr: optString(t, "addr") ?? "",
    func: optString(t, "func"),
    file: optString(t, "file"),
    fullname: optString(t, "fullname"),
    line: optNumber(t, "line"),
    from: optString(t, "from"),
    arch: optString(t, "arch"),
    args:
      argsField === undefined
        ? undefined
        : listTuples(t, "args").map((a) => ({ name: reqString(a, "name"), value: optString(a, "value") })),
  };
}

export interface MIBreakpointLocation {
  /** "2.1" */
  readonly number: string;
  readonly enabled: boolean;
  readonly addr?: string;
  readonly func?: string;
  readonly file?: string;
  readonly fullname?: string;
  readonly line?: number;
  readonly threadGroups: readonly string[];
}

export interface MIBreakpoint {
  /** "3"; a string because locations are "3.1" */
  readonly number: string;
  /** "breakpoint", "hw breakpoint", "dprintf", "watchpoint", ... */
  readonly type: string;
  /** "keep" or "del" (temporary) */
  readonly disp: string;
  readonly enabled: boolean;
  /** "<PENDING>" or "<MULTIPLE>" stand in for an address when there is not exactly one */
  readonly addr?: string;
  readonly func?: string;
  readonly file?: string;
  readonly fullname?: string;
  readonly line?: number;
  readonly times: number;
  readonly cond?: string;
  readonly ignore?: number;
  /** the location text while the breakpoint is pending (no code matched yet) */
  readonly pending?: string;
  readonly originalLocation?: string;
  readonly threadGroups: readonly string[];
  /** MI3: the locations of a breakpoint with several; empty otherwise */
  readonly locations: readonly MIBreakpointLocation[];
}

export function decodeBreakpoint(t: MIResultsHolder): MIBreakpoint {
  return {
    number: reqString(t, "number"),
    type: optString(t, "type") ?? "breakpoint",
    disp: optString(t, "disp") ?? "keep",
    enabled: optString(t, "enabled") === "y",
    addr: optString(t, "addr"),
    func: optString(t, "func"),
    file: optString(t, "file"),
    fullname: optString(t, "fullname"),
    line: optNumber(t, "line"),
    times: optNumber(t, "times") ?? 0,
    cond: optString(t, "cond"),
    ignore: optNumber(t, "ignore"),
    pending: optString(t, "pending"),
    originalLocation: optString(t, "original-location"),
    threadGroups: listStrings(t, "thread-groups"),
    locations: listTuples(t, "locations").map(decodeBreakpointLocation),
  };
}

function decodeBreakpointLocation(t: MITuple): MIBreakpointLocation {
  return {
    number: reqString(t, "number"),
    enabled: optString(t, "enabled") === "y",
    addr: optString(t, "addr"),
    func: optString(t, "func"),
    file: optString(t, "file"),
    fullname: optString(t, "fullname"),
    line: optNumber(t, "line"),
    threadGroups: listStrings(t, "thread-groups"),
  };
}

export interface MIThread {
  /** gdb's global thread number, as a string ("1") */
  readonly id: string;
  /** "Thread 0x7ffff7dd2740 (LWP 4393)" */
  readonly targetId: string;
  readonly name?: string;
  /** "stopped" or "running" */
  readonly state: string;
  readonly core?: string;
  readonly frame?: MIFrame;
}

export function decodeThread(t: MIResultsHolder): MIThread {
  const frame = field(t, "frame");
  return {
    id: reqString(t, "id"),
    targetId: optString(t, "target-id") ?? "",
    name: optString(t, "name"),
    state: optString(t, "state") ?? "stopped",
    core: optString(t, "core"),
    frame: isTuple(frame) ? decodeFrame(frame) : undefined,
  };
}

/** One entry of -stack-list-variables --simple-values. */
export interface MIVariable {
  readonly name: string;
  /** a function argument rather than a local */
  readonly arg: boolean;
  readonly type?: string;
  /** absent for aggregates (structs, arrays) under --simple-values */
  readonly value?: string;
}

export function decodeVariable(t: MIResultsHolder): MIVariable {
  return {
    name: reqString(t, "name"),
    arg: optString(t, "arg") === "1",
    type: optString(t, "type"),
    value: optString(t, "value"),
  };
}

/** A variable object (-var-create, a child from -var-list-children). */
export interface MIVarObj {
  /** gdb's handle, e.g. "var1" or "var1.x" */
  readonly name: string;
  /** the child's expression relative to its parent ("x", "0") */
  readonly exp?: string;
  readonly numchild: number;
  readonly value?: string;
  readonly type?: string;
  readonly threadId?: string;
  /** more children exist than were listed (dynamic varobjs) */
  readonly hasMore: boolean;
  readonly dynamic: boolean;
  readonly displayHint?: string;
}

export function decodeVarObj(t: MIResultsHolder): MIVarObj {
  return {
    name: reqString(t, "name"),
    exp: optString(t, "exp"),
    numchild: optNumber(t, "numchild") ?? 0,
    value: optString(t, "value"),
    type: optString(t, "type"),
    threadId: optString(t, "thread-id"),
    hasMore: optString(t, "has_more") === "1",
    dynamic: optString(t, "dynamic") === "1",
    displayHint: optString(t, "displayhint"),
  };
}

/** One contiguous readable block of -data-read-memory-bytes. */
export interface MIMemoryBlock {
  readonly begin: bigint;
  /** offset of `begin` from the address that was asked for */
  readonly offset: bigint;
  readonly end: bigint;
  readonly contents: Uint8Array;
}

export function decodeMemoryBlock(t: MIResultsHolder): MIMemoryBlock {
  const contents = reqString(t, "contents");
  return {
    begin: BigInt(reqString(t, "begin")),
    offset: BigInt(optString(t, "offset") ?? "0"),
    end: BigInt(reqString(t, "end")),
    contents: Uint8Array.from(Buffer.from(contents, "hex")),
  };
}

export interface MIInstruction {
  readonly address: string;
  readonly funcName?: string;
  readonly offset?: number;
  readonly inst: string;
  /** raw bytes as gdb prints them ("48 89 e5"), in the opcode modes */
  readonly opcodes?: string;
}

export function decodeInstruction(t: MIResultsHolder): MIInstruction {
  return {
    address: reqString(t, "address"),
    funcName: optString(t, "func-name"),
    offset: optNumber(t, "offset"),
    inst: optString(t, "inst") ?? "",
    opcodes: optString(t, "opcodes"),
  };
}

/** A source line with its instructions, in the source-centric disassembly modes. */
export interface MISourceAndInstructions {
  readonly line: number;
  readonly file?: string;
  readonly fullname?: string;
  readonly instructions: readonly MIInstruction[];
}

export function decodeSourceAndInstructions(t: MIResultsHolder): MISourceAndInstructions {
  // code without line information comes back as plain instructions, even in the source modes
  if (optString(t, "address") !== undefined) return { line: 0, instructions: [decodeInstruction(t)] };
  return {
    line: optNumber(t, "line") ?? 0,
    file: optString(t, "file"),
    fullname: optString(t, "fullname"),
    instructions: listTuples(t, "line_asm_insn").map(decodeInstruction),
  };
}
