// Typed wrappers for the MI commands the debug adapter uses: each builds the
// argument list (so quoting and option order live in one place) and decodes
// gdb's answer into the shapes of model.ts. They add no policy: what to do
// with a stop, a failed breakpoint or a pending command is the adapter's call.
//
// Thread and frame context is passed with MI's own `--thread N --frame N`
// options rather than -thread-select/-stack-select-frame, so that a command
// never changes the user's selected thread or frame behind their back.

import type { MICommandResult, SendOptions } from "./connection";
import {
  decodeBreakpoint,
  decodeFrame,
  decodeInstruction,
  decodeMemoryBlock,
  decodeSourceAndInstructions,
  decodeThread,
  decodeVarObj,
  decodeVariable,
  type MIBreakpoint,
  type MIFrame,
  type MIInstruction,
  type MIMemoryBlock,
  type MISourceAndInstructions,
  type MIThread,
  type MIVarObj,
  type MIVariable,
} from "./model";
import {
  breakOptionArgs,
  contextArgs,
  locationArgs,
  PRINT_VALUES,
  shellQuote,
  type MIBreakLocation,
  type MIBreakOptions,
  type MIContext,
  type MIPrintValues,
} from "./command-args";
import { consoleCommand, type MICommand } from "./serialize";
import {
  field,
  isTuple,
  listTuples,
  MIShapeError,
  optNumber,
  optString,
  reqString,
  type MIResult,
  type MITuple,
} from "./values";

/** What the wrappers need from a connection (GdbConnection, or a test double). */
export interface MISender {
  send(command: MICommand, options?: SendOptions): Promise<MICommandResult>;
}

export interface MIThreadInfo {
  readonly threads: readonly MIThread[];
  readonly currentThreadId?: string;
}

export interface MIVarChildren {
  readonly numchild: number;
  readonly children: readonly MIVarObj[];
  readonly hasMore: boolean;
}

export interface MIVarChange {
  readonly name: string;
  readonly value?: string;
  /** "true", "false" (out of scope) or "invalid" */
  readonly inScope: string;
  readonly typeChanged: boolean;
  readonly newType?: string;
  readonly newNumChildren?: number;
  readonly hasMore: boolean;
}

export class MICommands {
  constructor(private readonly gdb: MISender) {}

  private send(
    operation: string,
    args: readonly string[] = [],
    options?: SendOptions,
  ): Promise<MICommandResult> {
    return this.gdb.send({ operation, args }, options);
  }

  // --- gdb itself -----------------------------------------------------------

  /** `-gdb-set NAME VALUE`; the text goes to gdb's `set` verbatim. */
  async gdbSet(name: string, value: string, options?: SendOptions): Promise<void> {
    await this.gdb.send({ operation: "-gdb-set", raw: `${name} ${value}` }, options);
  }

  async gdbShow(name: string, options?: SendOptions): Promise<string | undefined> {
    const r = await this.gdb.send({ operation: "-gdb-show", raw: name }, options);
    return optString(r.results, "value");
  }

  /** A CLI command through `-interpreter-exec console`; its printed output is in `console`. */
  console(cli: string, options?: SendOptions): Promise<MICommandResult> {
    return this.gdb.send(consoleCommand(cli), options);
  }

  // --- program and process --------------------------------------------------

  async fileExecAndSymbols(path: string, options?: SendOptions): Promise<void> {
    await this.send("-file-exec-and-symbols", [path], options);
  }

  /** Program arguments for the next run, each one kept whole through the shell. */
  async execArguments(args: readonly string[], options?: SendOptions): Promise<void> {
    await this.gdb.send({ operation: "-exec-arguments", raw: args.map(shellQuote).join(" ") }, options);
  }

  async environmentCd(dir: string, options?: SendOptions): Promise<void> {
    await this.send("-environment-cd", [dir], options);
  }

  /** Where the program's stdin/stdout/stderr go on the next run (a terminal device). */
  async inferiorTtySet(tty: string, options?: SendOptions): Promise<void> {
    await this.send("-inferior-tty-set", [tty], options);
  }

  /** `-exec-run`; with `start`, stops at main. Resolves on `^running`; the stop arrives as `*stopped`. */
  async execRun(opts: { readonly start?: boolean } = {}, options?: SendOptions): Promise<void> {
    await this.send("-exec-run", opts.start === true ? ["--start"] : [], options);
  }

  async targetAttach(pid: number, options?: SendOptions): Promise<void> {
    await this.send("-target-attach", [String(pid)], options);
  }

  async targetDetach(options?: SendOptions): Promise<void> {
    await this.send("-target-detach", [], options);
  }

  /**
   * Opens a core file (`-target-select core PATH`). gdb answers `^connected`
   * with the frame where the process died.
   */
  async targetSelectCore(path: string, options?: SendOptions): Promise<MIFrame | undefined> {
    const r = await this.send("-target-select", ["core", path], options);
    const frame = field(r.results, "frame");
    return isTuple(frame) ? decodeFrame(frame) : undefined;
  }

  async gdbExit(options?: SendOptions): Promise<void> {
    await this.send("-gdb-exit", [], options);
  }

  // --- execution control (each resolves on `^running`) ------------------------

  async execContinue(ctx?: MIContext & { readonly all?: boolean }, options?: SendOptions): Promise<void> {
    await this.send(
      "-exec-continue",
      [...contextArgs(ctx), ...(ctx?.all === true ? ["--all"] : [])],
      options,
    );
  }

  async execNext(ctx?: MIContext, options?: SendOptions): Promise<void> {
    await this.send("-exec-next", contextArgs(ctx), options);
  }

  async execStep(ctx?: MIContext, options?: SendOptions): Promise<void> {
    await this.send("-exec-step", contextArgs(ctx), options);
  }

  async execNextInstruction(ctx?: MIContext, options?: SendOptions): Promise<void> {
    await this.send("-exec-next-instruction", contextArgs(ctx), options);
  }

  async execStepInstruction(ctx?: MIContext, options?: SendOptions): Promise<void> {
    await this.send("-exec-step-instruction", contextArgs(ctx), options);
  }

  async execFinish(ctx?: MIContext, options?: SendOptions): Promise<void> {
    await this.send("-exec-finish", contextArgs(ctx), options);
  }

  /**
   * Stops the program. Needs `mi-async on` (set before running); without it
   * gdb does not read commands while the program runs, and only a SIGINT to
   * gdb (GdbConnection.signal) interrupts.
   */
  async execInterrupt(ctx?: MIContext & { readonly all?: boolean }, options?: SendOptions): Promise<void> {
    await this.send(
      "-exec-interrupt",
      [...contextArgs(ctx), ...(ctx?.all === true ? ["--all"] : [])],
      options,
    );
  }

  // --- breakpoints -----------------------------------------------------------

  async breakInsert(
    location: MIBreakLocation,
    opts: MIBreakOptions = {},
    options?: SendOptions,
  ): Promise<MIBreakpoint> {
    const r = await this.send(
      "-break-insert",
      [...breakOptionArgs(opts), ...locationArgs(location)],
      options,
    );
    return decodeBreakpoint(requireTuple(r.results, "bkpt"));
  }

  /** A dprintf (DAP logpoint): prints `format` with `args` and does not stop. */
  async dprintfInsert(
    location: MIBreakLocation,
    format: string,
    args: readonly string[] = [],
    opts: MIBreakOptions = {},
    options?: SendOptions,
  ): Promise<MIBreakpoint> {
    const r = await this.send(
      "-dprintf-insert",
      [...breakOptionArgs(opts), ...locationArgs(location), format, ...args],
      options,
    );
    return decodeBreakpoint(requireTuple(r.results, "bkpt"));
  }

  async breakDelete(numbers: readonly (string | number)[], options?: SendOptions): Promise<void> {
    if (numbers.length === 0) return;
    await this.send("-break-delete", numbers.map(String), options);
  }

  /** Sets or (with "") clears a breakpoint's condition. */
  async breakCondition(number: string | number, condition: string, options?: SendOptions): Promise<void> {
    await this.send(
      "-break-condition",
      condition === "" ? [String(number)] : [String(number), condition],
      options,
    );
  }

  async breakAfter(number: string | number, count: number, options?: SendOptions): Promise<void> {
    await this.send("-break-after", [String(number), String(count)], options);
  }

  async breakEnable(
    numbers: readonly (string | number)[],
    enable: boolean,
    options?: SendOptions,
  ): Promise<void> {
    if (numbers.length === 0) return;
    await this.send(enable ? "-break-enable" : "-break-disable", numbers.map(String), options);
  }

  async breakList(options?: SendOptions): Promise<MIBreakpoint[]> {
    const r = await this.send("-break-list", [], options);
    return listTuples(requireTuple(r.results, "BreakpointTable"), "body").map(decodeBreakpoint);
  }

  // --- threads and stacks -----------------------------------------------------

  async threadInfo(threadId?: string | number, options?: SendOptions): Promise<MIThreadInfo> {
    const r = await this.send("-thread-info", threadId === undefined ? [] : [String(threadId)], options);
    return {
      threads: listTuples(r.results, "threads").map(decodeThread),
      currentThreadId: optString(r.results, "current-thread-id"),
    };
  }

  /** Frames `low..high` (inclusive) of a thread, innermost first. */
  async stackListFrames(
    opts: { readonly thread?: string | number; readonly low?: number; readonly high?: number } = {},
    options?: SendOptions,
  ): Promise<MIFrame[]> {
    const range =
      opts.low !== undefined && opts.high !== undefined ? [String(opts.low), String(opts.high)] : [];
    const r = await this.send(
      "-stack-list-frames",
      [...contextArgs({ thread: opts.thread }), ...range],
      options,
    );
    return listTuples(r.results, "stack").map(decodeFrame);
  }

  async stackInfoDepth(ctx?: MIContext, maxDepth?: number, options?: SendOptions): Promise<number> {
    const r = await this.send(
      "-stack-info-depth",
      [...contextArgs(ctx), ...(maxDepth === undefined ? [] : [String(maxDepth)])],
      options,
    );
    return optNumber(r.results, "depth") ?? 0;
  }

  /** Arguments and locals of a frame; `simple` gives values of scalars only (cheap). */
  async stackListVariables(
    ctx: MIContext = {},
    values: MIPrintValues = "simple",
    options?: SendOptions,
  ): Promise<MIVariable[]> {
    const r = await this.send("-stack-list-variables", [...contextArgs(ctx), PRINT_VALUES[values]], options);
    return listTuples(r.results, "variables").map(decodeVariable);
  }

  // --- variable objects ----------------------------------------------------------

  /**
   * Creates a varobj for `expression` in the given (or current) frame. `name`
   * "-" lets gdb choose one; `floating` re-evaluates it in whatever frame is
   * current at each update (what a watch expression wants).
   */
  async varCreate(
    expression: string,
    opts: MIContext & { readonly name?: string; readonly floating?: boolean } = {},
    options?: SendOptions,
  ): Promise<MIVarObj> {
    const r = await this.send(
      "-var-create",
      [...contextArgs(opts), opts.name ?? "-", opts.floating === true ? "@" : "*", expression],
      options,
    );
    return decodeVarObj(r.results);
  }

  async varListChildren(
    name: string,
    opts: { readonly values?: MIPrintValues; readonly from?: number; readonly to?: number } = {},
    options?: SendOptions,
  ): Promise<MIVarChildren> {
    const range =
      opts.from !== undefined && opts.to !== undefined ? [String(opts.from), String(opts.to)] : [];
    const r = await this.send(
      "-var-list-children",
      [PRINT_VALUES[opts.values ?? "simple"], name, ...range],
      options,
    );
    return {
      numchild: optNumber(r.results, "numchild") ?? 0,
      children: listTuples(r.results, "children").map(decodeVarObj),
      hasMore: optString(r.results, "has_more") === "1",
    };
  }

  /** The varobj's value, optionally in a format ("hexadecimal", "natural", ...). */
  async varEvaluateExpression(name: string, format?: string, options?: SendOptions): Promise<string> {
    const args = format === undefined ? [name] : ["-f", format, name];
    const r = await this.send("-var-evaluate-expression", args, options);
    return reqString(r.results, "value");
  }

  /** Assigns `expression` to the varobj and resolves with the new value. */
  async varAssign(name: string, expression: string, options?: SendOptions): Promise<string> {
    const r = await this.send("-var-assign", [name, expression], options);
    return reqString(r.results, "value");
  }

  async varUpdate(name = "*", values: MIPrintValues = "all", options?: SendOptions): Promise<MIVarChange[]> {
    const r = await this.send("-var-update", [PRINT_VALUES[values], name], options);
    return listTuples(r.results, "changelist").map((c) => ({
      name: reqString(c, "name"),
      value: optString(c, "value"),
      inScope: optString(c, "in_scope") ?? "true",
      typeChanged: optString(c, "type_changed") === "true",
      newType: optString(c, "new_type"),
      newNumChildren: optNumber(c, "new_num_children"),
      hasMore: optString(c, "has_more") === "1",
    }));
  }

  async varDelete(
    name: string,
    opts: { readonly childrenOnly?: boolean } = {},
    options?: SendOptions,
  ): Promise<void> {
    await this.send("-var-delete", opts.childrenOnly === true ? ["-c", name] : [name], options);
  }

  // --- data ------------------------------------------------------------------------

  async dataEvaluateExpression(expression: string, ctx?: MIContext, options?: SendOptions): Promise<string> {
    const r = await this.send("-data-evaluate-expression", [...contextArgs(ctx), expression], options);
    return reqString(r.results, "value");
  }

  /**
   * Reads `count` bytes at `address` (an expression; a plain address in DAP use).
   * Unreadable stretches are simply absent: gdb returns the readable blocks.
   */
  async dataReadMemoryBytes(
    address: string,
    count: number,
    opts: { readonly offset?: number } = {},
    options?: SendOptions,
  ): Promise<MIMemoryBlock[]> {
    const offset = opts.offset !== undefined && opts.offset !== 0 ? ["-o", String(opts.offset)] : [];
    const r = await this.send("-data-read-memory-bytes", [...offset, address, String(count)], options);
    return listTuples(r.results, "memory").map(decodeMemoryBlock);
  }

  async dataWriteMemoryBytes(address: string, bytes: Uint8Array, options?: SendOptions): Promise<void> {
    if (bytes.length === 0) return;
    await this.send("-data-write-memory-bytes", [address, Buffer.from(bytes).toString("hex")], options);
  }

  /**
   * Instructions in [start, end) (addresses or expressions), without source
   * lines; `opcodes` adds the raw bytes.
   */
  async disassembleRange(
    start: string,
    end: string,
    opts: { readonly opcodes?: boolean } = {},
    options?: SendOptions,
  ): Promise<MIInstruction[]> {
    const mode = opts.opcodes === true ? "2" : "0";
    const r = await this.send("-data-disassemble", ["-s", start, "-e", end, "--", mode], options);
    return listTuples(r.results, "asm_insns").map(decodeInstruction);
  }

  /** Instructions in [start, end) grouped under the source lines they came from (mode 5: with opcodes). */
  async disassembleWithSource(
    start: string,
    end: string,
    options?: SendOptions,
  ): Promise<MISourceAndInstructions[]> {
    const r = await this.send("-data-disassemble", ["-s", start, "-e", end, "--", "5"], options);
    return listTuples(r.results, "asm_insns").map(decodeSourceAndInstructions);
  }

  /** The whole function containing `address`, grouped under source lines (mode 5: with opcodes). */
  async disassembleFunctionWithSource(
    address: string,
    options?: SendOptions,
  ): Promise<MISourceAndInstructions[]> {
    const r = await this.send("-data-disassemble", ["-a", address, "--", "5"], options);
    return listTuples(r.results, "asm_insns").map(decodeSourceAndInstructions);
  }

  /** The whole function containing `address`. */
  async disassembleFunction(
    address: string,
    opts: { readonly opcodes?: boolean } = {},
    options?: SendOptions,
  ): Promise<MIInstruction[]> {
    const mode = opts.opcodes === true ? "2" : "0";
    const r = await this.send("-data-disassemble", ["-a", address, "--", mode], options);
    return listTuples(r.results, "asm_insns").map(decodeInstruction);
  }
}

function requireTuple(results: readonly MIResult[], name: string): MITuple {
  const v = field(results, name);
  if (!isTuple(v)) throw new MIShapeError(`expected a tuple field "${name}" in MI output`);
  return v;
}
