// How an `allocs` command ends: its status, or its error as one line (a UsageError: status 2,
// anything else: 1). Shared by main.ts and the entries bin/allocs.js takes directly.
import { UsageError } from "./paths";

export function exitWith(run: Promise<number>): void {
  run.then(
    (status) => process.exit(status),
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      console.error(message.startsWith("allocs") ? message : `allocs: ${message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
