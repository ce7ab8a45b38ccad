// The process list behind ${command:pickProcess}: `ps` output parsed into quick-pick items.
// Pure parsing here; extension.ts runs ps and shows the list.

export interface ProcessEntry {
  readonly pid: number;
  readonly name: string;
  readonly command: string;
}

/** The arguments for `ps` whose output parseProcessList reads. The name column is given a wide
 * header so that long names are not cut. */
export const PS_ARGS = ["-A", "-ww", "-o", `pid=,comm=${"x".repeat(40)},args=`];

/** Lines of `ps -A -o pid=,comm=,args=` (fixed-width pid and comm columns) -> entries, newest
 * (highest pid) first, without the ps process itself. */
export function parseProcessList(text: string, selfPid?: number): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const raw of text.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === selfPid) continue;
    const rest = m[2];
    // comm is padded to 40 columns; args follow
    const name = rest.slice(0, 40).trim();
    const command = rest.slice(40).trim() || name;
    if (name === "") continue;
    out.push({ pid, name, command });
  }
  return out.sort((a, b) => b.pid - a.pid);
}
