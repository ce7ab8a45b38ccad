// The one rule for LD_PRELOAD wherever the runtime is preloaded (allocs run, allocs gdb and
// allocs lldb, the debug adapter, VS Code's allocs-lldb): the runtime first, so its malloc is the
// one every other preload and the program see, and the user's own preloads kept after it.

/** LD_PRELOAD's value with `runtime` first and every other entry of `current` (split at ':' or
 * ' ', as ld.so does) kept in order, the runtime itself not repeated. */
export function runtimeFirst(runtime: string, current: string | null | undefined): string {
  const others = (current ?? "").split(/[: ]/).filter((p) => p !== "" && p !== runtime);
  return [runtime, ...others].join(":");
}
