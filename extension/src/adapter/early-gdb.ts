// gdb started the moment the adapter process starts (stdio: one session per process), so that
// gdb's own start-up (~0.3 s and more under load) overlaps node loading the adapter's modules and
// the client's initialize. The session takes it for launch/attach when their gdb is the default
// one; otherwise it is closed. Imports only the MI connection: main.ts calls this before it loads
// the rest of the adapter.
import { GdbConnection, type GdbConnectionOptions } from "../mi/connection";

type Trace = NonNullable<GdbConnectionOptions["trace"]>;

interface Early {
  readonly gdb: Promise<GdbConnection | undefined>;
  trace?: Trace;
}

let early: Early | undefined;

/** The default gdb's options; `trace` is consulted per line (traceMI arrives with launch). */
export function defaultGdbOptions(gdbPath: string, trace: Trace): GdbConnectionOptions {
  return { gdbPath, commandTimeoutMs: 60000, trace };
}

export function startEarlyGdb(): void {
  if (early !== undefined) return;
  const holder: { gdb?: Promise<GdbConnection | undefined>; trace?: Trace } = {};
  holder.gdb = GdbConnection.start(defaultGdbOptions("gdb", (dir, line) => holder.trace?.(dir, line))).catch(
    () => undefined,
  );
  early = holder as Early;
}

/** The early gdb (once: the first session takes it), its MI trace sent to `trace` from now on. */
export function takeEarlyGdb(trace: Trace): Promise<GdbConnection | undefined> | undefined {
  const e = early;
  early = undefined;
  if (e === undefined) return undefined;
  e.trace = trace;
  return e.gdb;
}
