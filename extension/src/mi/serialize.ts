// Writing MI commands: `[token]-operation arg arg ...` on one line.
//
// gdb's MI input parser (mi_parse / mi_parse_argv) splits arguments at
// whitespace unless an argument is a c-string in double quotes, in which case
// backslash escapes are honoured (including octal). Options are plain
// arguments that start with "-"; a "--" ends them where a value could itself
// start with "-". Callers pass arguments as data and never pre-quote them.
//
// Exception: a few MI commands are thin aliases of CLI commands and receive
// the rest of the line verbatim, quotes included (tested on gdb 13:
// `-gdb-set args "x y"` sets the arguments to `"x y"` with the quotes, and
// `-exec-arguments` behaves the same). Those take `raw` text instead of `args`.

import { quoteArgument, quoteCString } from "./cstring";

/** A command as data: `operation` with or without its leading "-". */
export interface MICommand {
  readonly operation: string;
  readonly args?: readonly string[];
  /** Verbatim text after the arguments, for CLI-backed commands; one line only. */
  readonly raw?: string;
}

const OPERATION = /^-?[A-Za-z][A-Za-z0-9_-]*$/;

export class MICommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MICommandError";
  }
}

/** The text of one command line, without the trailing newline. */
export function formatCommand(command: MICommand, token?: number): string {
  if (!OPERATION.test(command.operation)) {
    throw new MICommandError(`not an MI operation name: ${JSON.stringify(command.operation)}`);
  }
  const op = command.operation.startsWith("-") ? command.operation : `-${command.operation}`;
  const parts = [op, ...(command.args ?? []).map(quoteArgument)];
  if (command.raw !== undefined) {
    if (/[\r\n]/.test(command.raw))
      throw new MICommandError("a command's raw text cannot contain a line break");
    if (command.raw !== "") parts.push(command.raw);
  }
  return `${token ?? ""}${parts.join(" ")}`;
}

/**
 * `-interpreter-exec console "<cli>"`: runs a CLI command (or a user-defined
 * command such as `alloc info p`) through MI, so its result still comes back
 * with our token and its printed output arrives as console stream records.
 */
export function consoleCommand(cli: string): MICommand {
  return { operation: "-interpreter-exec", args: ["console", cli] };
}

export { quoteArgument, quoteCString };
