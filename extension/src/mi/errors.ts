// The errors the MI layer rejects with. Each says, in words a user can act on,
// what went wrong; the adapter shows `message` as-is in VS Code.

/** Base class, so callers can tell gdb-side failures from their own bugs. */
export class GdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** gdb answered `^error`: the command ran and failed (bad expression, no process...). */
export class MIError extends GdbError {
  constructor(
    /** gdb's own `msg` */
    readonly msg: string,
    /** gdb's `code`, e.g. "undefined-command"; most errors have none */
    readonly code: string | undefined,
    /** the command text, without its token */
    readonly command: string,
  ) {
    super(msg);
  }
}

/** gdb exited or was killed while commands were pending, or before one was sent. */
export class GdbExitedError extends GdbError {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly command: string | undefined,
    /** the last lines gdb wrote to stderr, often the reason it died */
    readonly stderr: string,
  ) {
    const how =
      signal !== null
        ? `gdb was killed by signal ${signal}`
        : `gdb exited with code ${exitCode ?? "unknown"}`;
    const during = command !== undefined ? ` while running ${command}` : "";
    const why = stderr.trim() !== "" ? `: ${stderr.trim()}` : "";
    super(`${how}${during}${why}`);
  }
}

/** spawn failed with ENOENT: there is no gdb at that path. */
export class GdbNotFoundError extends GdbError {
  constructor(readonly gdbPath: string) {
    super(`gdb not found at ${gdbPath}: install gdb or set miDebuggerPath`);
  }
}

/** Any other failure to start gdb (not executable, bad cwd, no MI3 support...). */
export class GdbStartError extends GdbError {}

/** No result record arrived within the command's time limit. */
export class MITimeoutError extends GdbError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`gdb did not answer ${command} within ${timeoutMs} ms`);
  }
}
