// How the typed command wrappers (commands.ts) turn their options into MI
// arguments: thread/frame context, breakpoint locations and options, value
// printing modes, and shell quoting for program arguments.

/** `--thread` / `--frame` for commands that run in a thread or frame. */
export type MIContext =
  | { readonly thread?: string | number; readonly frame?: undefined }
  /** gdb refuses --frame without --thread ("Cannot specify --frame without --thread") */
  | { readonly thread: string | number; readonly frame: number };

export function contextArgs(ctx: MIContext | undefined): string[] {
  const args: string[] = [];
  if (ctx?.thread !== undefined) args.push("--thread", String(ctx.thread));
  if (ctx?.frame !== undefined) args.push("--frame", String(ctx.frame));
  return args;
}

/** Where a breakpoint goes. Source and function locations use gdb's explicit-location options, which need no escaping of paths or names. */
export type MIBreakLocation =
  | { readonly kind: "source"; readonly file: string; readonly line: number }
  | { readonly kind: "function"; readonly name: string }
  | { readonly kind: "address"; readonly address: string }
  /** any linespec gdb accepts ("file.c:12", "*0x401000", "main") */
  | { readonly kind: "linespec"; readonly text: string };

export function locationArgs(location: MIBreakLocation): string[] {
  switch (location.kind) {
    case "source":
      return ["--source", location.file, "--line", String(location.line)];
    case "function":
      return ["--function", location.name];
    case "address":
      return [`*${location.address}`];
    case "linespec":
      return [location.text];
  }
}

export interface MIBreakOptions {
  readonly condition?: string;
  /** skip this many hits before stopping (DAP hitCondition maps onto it) */
  readonly ignoreCount?: number;
  readonly temporary?: boolean;
  readonly hardware?: boolean;
  /** create it even if the location matches nothing yet (a library not loaded) */
  readonly pending?: boolean;
  readonly disabled?: boolean;
  readonly thread?: string | number;
}

export function breakOptionArgs(o: MIBreakOptions): string[] {
  const args: string[] = [];
  if (o.temporary === true) args.push("-t");
  if (o.hardware === true) args.push("-h");
  if (o.pending === true) args.push("-f");
  if (o.disabled === true) args.push("-d");
  if (o.condition !== undefined && o.condition !== "") args.push("-c", o.condition);
  if (o.ignoreCount !== undefined && o.ignoreCount > 0) args.push("-i", String(o.ignoreCount));
  if (o.thread !== undefined) args.push("-p", String(o.thread));
  return args;
}

export type MIPrintValues = "none" | "all" | "simple";

export const PRINT_VALUES: Record<MIPrintValues, string> = {
  none: "--no-values",
  all: "--all-values",
  simple: "--simple-values",
};

/**
 * Quotes a program argument for `set args`, which gdb hands to /bin/sh when it
 * starts the program (startup-with-shell, on by default).
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\-+.,:/=@%^]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
