// Debug adapter benchmarks (issue 5's budgets), each beside a baseline from the same run:
//   launch -> stopped at entry (budget 1.5 s), against plain gdb over MI run to main;
//   a variables request for a scope of 100 pointer locals with allocation summaries
//   (budget 250 ms), against the same request without the bridge (no summaries).
// Run: bash bench/adapter-bench.sh [RUNS]
import type { DebugProtocol } from "@vscode/debugprotocol";
import { performance } from "node:perf_hooks";

import { GdbConnection, MICommands, decodeStopped } from "../extension/src/mi";
import { dapTarget, markerLine, SOURCE, TestClient } from "../tests/extension/dap-client";

const RUNS = Number(process.argv[2] ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function plainGdbToMain(program: string): Promise<number> {
  const t0 = performance.now();
  const gdb = await GdbConnection.start({});
  const mi = new MICommands(gdb);
  await mi.gdbSet("mi-async", "on");
  await mi.gdbSet("startup-with-shell", "off");
  await mi.fileExecAndSymbols(program);
  await mi.inferiorTtySet("/dev/null");
  const stopped = new Promise<void>((resolve) =>
    gdb.on("exec", (r) => {
      if (r.asyncClass === "stopped" && decodeStopped(r).reason !== undefined) resolve();
    }),
  );
  await mi.execRun({ start: true });
  await stopped;
  const t = performance.now() - t0;
  await gdb.close();
  return t;
}

async function adapterToEntry(program: string): Promise<{ total: number; launch: number }> {
  const client = new TestClient({ terminal: false });
  const t0 = performance.now();
  try {
    await client.start();
    const stopped = client.waitForEvent("stopped", 30000);
    await client.initializeRequest();
    const t1 = performance.now();
    await client.launchRequest({ program, stopAtEntry: true } as DebugProtocol.LaunchRequestArguments);
    await client.configurationDoneRequest();
    await stopped;
    const t2 = performance.now();
    return { total: t2 - t0, launch: t2 - t1 };
  } finally {
    await client.close();
  }
}

async function hundredPointers(program: string, bridge: boolean): Promise<{ ms: number; summaries: number }> {
  const client = new TestClient({ terminal: false });
  try {
    await client.start();
    const stopped = client.waitForEvent("stopped", 30000);
    await client.initializeRequest();
    const initialized = client.waitForEvent("initialized", 30000);
    const args: Record<string, unknown> = { program, args: ["hundred"] };
    if (!bridge) args.bridgePath = "/nonexistent/allocs_gdb.py";
    await client.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    await initialized;
    await client.setBreakpointsRequest({
      source: { path: SOURCE },
      breakpoints: [{ line: markerLine("BP_HUNDRED") }],
    });
    await client.configurationDoneRequest();
    const ev = (await stopped) as DebugProtocol.StoppedEvent;
    const st = await client.stackTraceRequest({ threadId: ev.body.threadId ?? 1 });
    const scopes = await client.scopesRequest({ frameId: st.body.stackFrames[0].id });
    const t0 = performance.now();
    const vars = await client.variablesRequest({
      variablesReference: scopes.body.scopes[0].variablesReference,
    });
    const ms = performance.now() - t0;
    const pointers = vars.body.variables.filter((v) => /^p\d+$/.test(v.name));
    if (pointers.length !== 100) throw new Error(`expected 100 pointer locals, got ${pointers.length}`);
    return { ms, summaries: pointers.filter((v) => v.value.includes("→ __default_lib_malloc")).length };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const program = dapTarget();
  const gdbTimes: number[] = [];
  const totals: number[] = [];
  const launches: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    gdbTimes.push(await plainGdbToMain(program));
    const a = await adapterToEntry(program);
    totals.push(a.total);
    launches.push(a.launch);
  }
  const withBridge: number[] = [];
  const without: number[] = [];
  let summaries = 0;
  for (let i = 0; i < RUNS; i++) {
    const w = await hundredPointers(program, true);
    withBridge.push(w.ms);
    summaries = w.summaries;
    without.push((await hundredPointers(program, false)).ms);
  }
  const f = (x: number): string => `${Math.round(x)} ms`;
  console.log(`runs: ${RUNS} (medians; min..max in brackets)`);
  const range = (xs: number[]): string => `[${f(Math.min(...xs))}..${f(Math.max(...xs))}]`;
  console.log(
    `baseline  plain gdb (MI, no bridge, no preload) start -> stopped at main: ${f(median(gdbTimes))} ${range(gdbTimes)}`,
  );
  console.log(
    `adapter   spawn adapter + initialize + launch -> stopped at entry:         ${f(median(totals))} ${range(totals)}` +
      `  (${(median(totals) / median(gdbTimes)).toFixed(2)}x baseline; budget 1500 ms)`,
  );
  console.log(
    `adapter   launch request -> stopped at entry:                          ${f(median(launches))} ${range(launches)}`,
  );
  console.log(
    `baseline  variables, 100 pointer locals, no bridge (no summaries):      ${f(median(without))} ${range(without)}`,
  );
  console.log(
    `adapter   variables, 100 pointer locals with summaries (${summaries}/100):        ${f(median(withBridge))} ${range(withBridge)}` +
      `  (budget 250 ms)`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
