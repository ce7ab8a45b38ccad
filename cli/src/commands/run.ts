// `allocs run [--leaks[=exit:N]] [--] PROG ARGS...`: run a program with the runtime preloaded.
// --leaks: the runtime prints a typed leak report on stderr at exit (runtime/src/leaks.c);
// --leaks=exit:N also makes the program exit with status N when it leaked.
import { preloadEnv, runInherited } from "../preload";
import { UsageError } from "../paths";
import { prepareMetadata } from "../meta-setup";
import { programObjects } from "../../../typegen/src/meta/objects";

const USAGE = "usage: allocs run [--leaks[=exit:N]] [--] PROGRAM [ARGS...]";

/** ALLOCS_LEAKS's value for a --leaks option (undefined: not a --leaks option). */
export function leaksSetting(arg: string): string | undefined {
  if (arg === "--leaks") return "1";
  const m = /^--leaks=(.*)$/.exec(arg);
  if (!m) return undefined;
  if (!/^exit:\d{1,3}$/.test(m[1]) || Number(m[1].slice(5)) > 255)
    throw new UsageError(`allocs run: --leaks=${m[1]}: expected exit:N (N from 0 to 255)\n${USAGE}`);
  return m[1];
}

export async function runCommand(args: string[]): Promise<number> {
  let leaks: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith("--leaks"); i++) leaks = leaksSetting(args[i]) ?? leaks;
  const argv = args[i] === "--" ? args.slice(i + 1) : args.slice(i);
  if (argv.length === 0) throw new UsageError(USAGE);
  await prepareMetadata("allocs run", programObjects(argv[0]));
  const env = preloadEnv();
  if (leaks !== undefined) env.ALLOCS_LEAKS = leaks;
  return runInherited(argv[0], argv.slice(1), env);
}
