// `allocs run [--] PROG ARGS...`: run a program with the runtime preloaded.
import { preloadEnv, runInherited } from "../preload";
import { UsageError } from "../paths";
import { prepareMetadata } from "../meta-setup";
import { programObjects } from "../../../typegen/src/meta/objects";

export async function runCommand(args: string[]): Promise<number> {
  const argv = args[0] === "--" ? args.slice(1) : args;
  if (argv.length === 0) throw new UsageError("usage: allocs run [--] PROGRAM [ARGS...]");
  await prepareMetadata("allocs run", programObjects(argv[0]));
  return runInherited(argv[0], argv.slice(1), preloadEnv());
}
