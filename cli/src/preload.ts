// Running programs with the runtime preloaded, so every child they start inherits it.
import { spawn } from "node:child_process";
import * as os from "node:os";
import { runtimeFirst } from "./ld-preload";
import { requireBuilt, runtimeLibrary } from "./paths";

/** The environment for a preloaded child: the runtime first in LD_PRELOAD, others kept. */
export function preloadEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const lib = requireBuilt(runtimeLibrary());
  return { ...base, LD_PRELOAD: runtimeFirst(lib, base.LD_PRELOAD) };
}

/** Runs a command with inherited stdio and resolves to the exit status the shell would report
 * (128 + signal number when it was killed by a signal). */
export function runInherited(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", env });
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(e.code === "ENOENT" ? new Error(`${cmd}: command not found`) : e);
    });
    child.on("exit", (code, signal) => {
      if (signal) {
        const signum = os.constants.signals[signal] ?? 0;
        resolve(128 + signum);
      } else resolve(code ?? 1);
    });
  });
}
