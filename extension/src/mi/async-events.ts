// Typed views of the async records the adapter reacts to: `*stopped` and
// `*running` (exec), and the `=` notifications about threads, processes,
// breakpoints, libraries and memory. Anything else stays a plain MIAsyncRecord.

import { decodeBreakpoint, decodeFrame, type MIBreakpoint, type MIFrame } from "./model";
import { field, isList, isTuple, optNumber, optString, type MIAsyncRecord } from "./values";

export interface MIStoppedEvent {
  /**
   * "breakpoint-hit", "end-stepping-range", "function-finished",
   * "signal-received", "exited", "exited-normally", "exited-signalled",
   * "location-reached", "watchpoint-trigger", ...; absent when gdb gives none
   * (e.g. after attach or loading a core).
   */
  readonly reason?: string;
  readonly threadId?: string;
  /** "all" in all-stop mode, otherwise the thread ids that stopped */
  readonly stoppedThreads: "all" | readonly string[];
  readonly frame?: MIFrame;
  readonly breakpointNumber?: string;
  /** which location of a multi-location breakpoint was hit (gdb 13 `locno`) */
  readonly breakpointLocation?: string;
  /** for "exited" (absent for "exited-normally", i.e. code 0) */
  readonly exitCode?: number;
  readonly signalName?: string;
  readonly signalMeaning?: string;
  /** for "function-finished": the value returned, and the `$N` gdb stored it in */
  readonly returnValue?: string;
  readonly gdbResultVar?: string;
  readonly core?: string;
}

export function decodeStopped(record: MIAsyncRecord): MIStoppedEvent {
  const frame = field(record, "frame");
  const stopped = field(record, "stopped-threads");
  let stoppedThreads: "all" | readonly string[] = "all";
  if (isList(stopped)) {
    stoppedThreads = (stopped.kind === "list" ? stopped.values : stopped.results.map((r) => r.value)).filter(
      (v): v is string => typeof v === "string",
    );
  }
  const reason = optString(record, "reason");
  return {
    reason,
    threadId: optString(record, "thread-id"),
    stoppedThreads,
    frame: isTuple(frame) ? decodeFrame(frame) : undefined,
    breakpointNumber: optString(record, "bkptno"),
    breakpointLocation: optString(record, "locno"),
    exitCode: optNumber(record, "exit-code") ?? (reason === "exited-normally" ? 0 : undefined),
    signalName: optString(record, "signal-name"),
    signalMeaning: optString(record, "signal-meaning"),
    returnValue: optString(record, "return-value"),
    gdbResultVar: optString(record, "gdb-result-var"),
    core: optString(record, "core"),
  };
}

/** True for the stop reasons that mean the process is gone. */
export function isExitReason(reason: string | undefined): boolean {
  return reason === "exited" || reason === "exited-normally" || reason === "exited-signalled";
}

export interface MIRunningEvent {
  /** "all" or one thread id */
  readonly threadId: string;
}

export function decodeRunning(record: MIAsyncRecord): MIRunningEvent {
  return { threadId: optString(record, "thread-id") ?? "all" };
}

/** `=thread-created` / `=thread-exited` */
export interface MIThreadEvent {
  readonly id: string;
  readonly groupId?: string;
}

export function decodeThreadEvent(record: MIAsyncRecord): MIThreadEvent {
  return { id: optString(record, "id") ?? "", groupId: optString(record, "group-id") };
}

/** `=thread-group-added|removed|started|exited`: a thread group is an inferior (process). */
export interface MIThreadGroupEvent {
  /** "i1" */
  readonly id: string;
  /** on "started" */
  readonly pid?: number;
  /** on "exited", when the process exited normally */
  readonly exitCode?: number;
}

export function decodeThreadGroupEvent(record: MIAsyncRecord): MIThreadGroupEvent {
  return {
    id: optString(record, "id") ?? "",
    pid: optNumber(record, "pid"),
    exitCode: optNumber(record, "exit-code"),
  };
}

/** `=breakpoint-created|modified` carry the whole breakpoint; `=breakpoint-deleted` only its id. */
export function decodeBreakpointEvent(
  record: MIAsyncRecord,
): MIBreakpoint | { readonly deletedNumber: string } {
  const bkpt = field(record, "bkpt");
  if (isTuple(bkpt)) return decodeBreakpoint(bkpt);
  return { deletedNumber: optString(record, "id") ?? "" };
}

/** `=library-loaded` / `=library-unloaded` */
export interface MILibraryEvent {
  readonly id: string;
  readonly targetName?: string;
  readonly hostName?: string;
  readonly symbolsLoaded: boolean;
  readonly threadGroup?: string;
}

export function decodeLibraryEvent(record: MIAsyncRecord): MILibraryEvent {
  return {
    id: optString(record, "id") ?? "",
    targetName: optString(record, "target-name"),
    hostName: optString(record, "host-name"),
    symbolsLoaded: optString(record, "symbols-loaded") === "1",
    threadGroup: optString(record, "thread-group"),
  };
}

/** `=memory-changed`: the user (or we) wrote memory; DAP's `memory` event follows from it. */
export interface MIMemoryChangedEvent {
  readonly threadGroup?: string;
  readonly addr: string;
  readonly len: number;
}

export function decodeMemoryChanged(record: MIAsyncRecord): MIMemoryChangedEvent {
  return {
    threadGroup: optString(record, "thread-group"),
    addr: optString(record, "addr") ?? "",
    len: optNumber(record, "len") ?? 0,
  };
}
