// Debug adapter benchmarks (issue 5's budgets), each beside a baseline from the same run:
//   launch -> stopped at entry (budget 1.5 s), against plain gdb over MI run to main (also plain
//   gdb with the index cache, and plain gdb doing the adapter's work one command at a time), with
//   the launch path's phases read off the adapter's MI trace;
//   a variables request for a scope of 100 pointer locals with allocation summaries
//   (budget 250 ms), against the same request without the bridge (no summaries).
// Run: bash bench/adapter-bench.sh [RUNS]
import type { DebugProtocol } from "@vscode/debugprotocol";
import { performance } from "node:perf_hooks";

import { defaultRuntimePath } from "../extension/src/adapter/paths";
import { GdbConnection, MICommands, decodeStopped } from "../extension/src/mi";
import { BRIDGE, dapTarget, markerLine, SOURCE, TestClient } from "../tests/extension/dap-client";

const RUNS = Number(process.argv[2] ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface PlainOptions {
  /** gdb's index cache on (as the adapter sets it) */
  indexCache?: boolean;
  /** the adapter's work done serially by hand: bridge sourced, runtime preloaded */
  bridgeAndPreload?: boolean;
}

async function plainGdbToMain(program: string, o: PlainOptions = {}): Promise<number> {
  const t0 = performance.now();
  const gdb = await GdbConnection.start({});
  const mi = new MICommands(gdb);
  await mi.gdbSet("mi-async", "on");
  if (o.indexCache === true) await mi.console("set index-cache enabled on");
  if (o.bridgeAndPreload === true) {
    await mi.console(`source ${BRIDGE}`);
    await mi.gdbSet("environment", `LD_PRELOAD=${defaultRuntimePath()}`);
  }
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

/** Times from the launch request (ms), read off the adapter's MI trace when `trace` is set. */
interface LaunchTimes {
  total: number;
  launch: number;
  /** gdb ready: the first command launch sends (gdb was started at initialize) */
  gdbReady?: number;
  launchResponse?: number;
  /** configurationDone answered: -exec-run said ^running */
  running?: number;
  /** the bridge sourced and its MI command found (behind -exec-run) */
  bridge?: number;
}

async function adapterToEntry(program: string, terminal: boolean, trace: boolean): Promise<LaunchTimes> {
  const client = new TestClient({ terminal });
  const t0 = performance.now();
  let t1 = 0;
  const marks: Partial<LaunchTimes> = {};
  client.on("output", (e: DebugProtocol.OutputEvent) => {
    const now = performance.now() - t1;
    const text = e.body.output;
    if (marks.gdbReady === undefined && text.startsWith("-> ")) marks.gdbReady = now;
    if (/^<- \d+\^done,command=\{exists/.test(text)) marks.bridge = now;
  });
  try {
    await client.start();
    const stopped = client.waitForEvent("stopped", 30000);
    await client.initializeRequest();
    t1 = performance.now();
    await client.launchRequest({
      program,
      stopAtEntry: true,
      traceMI: trace,
    } as DebugProtocol.LaunchRequestArguments);
    marks.launchResponse = performance.now() - t1;
    await client.configurationDoneRequest();
    marks.running = performance.now() - t1;
    await stopped;
    const t2 = performance.now();
    return { ...marks, total: t2 - t0, launch: t2 - t1 };
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
  const gdbIndex: number[] = [];
  const gdbSerial: number[] = [];
  const totals: number[] = [];
  const launches: number[] = [];
  const terminalLaunches: number[] = [];
  const traced: LaunchTimes[] = [];
  for (let i = 0; i < RUNS; i++) {
    gdbTimes.push(await plainGdbToMain(program));
    gdbIndex.push(await plainGdbToMain(program, { indexCache: true }));
    gdbSerial.push(await plainGdbToMain(program, { bridgeAndPreload: true }));
    const a = await adapterToEntry(program, false, false);
    totals.push(a.total);
    launches.push(a.launch);
    terminalLaunches.push((await adapterToEntry(program, true, false)).launch);
    traced.push(await adapterToEntry(program, true, true));
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
  const base = median(gdbTimes);
  const range = (xs: number[]): string => `[${f(Math.min(...xs))}..${f(Math.max(...xs))}]`;
  const row = (label: string, xs: number[], extra = ""): void =>
    console.log(
      `${label.padEnd(74)} ${f(median(xs))} ${range(xs)}  ${(median(xs) / base).toFixed(2)}x${extra}`,
    );
  console.log(`runs: ${RUNS} (medians; min..max in brackets; ratios against plain gdb in the same run)`);
  row("baseline  plain gdb (MI, no bridge, no preload) start -> stopped at main", gdbTimes);
  row("          plain gdb with index-cache on", gdbIndex);
  row("          plain gdb + bridge sourced + runtime preloaded, one command at a time", gdbSerial);
  row("adapter   spawn adapter + initialize + launch -> stopped at entry", totals);
  row("adapter   launch request -> stopped at entry (program output to a pty)", launches, "  budget 1500 ms");
  row("adapter   launch request -> stopped at entry (runInTerminal)", terminalLaunches, "  budget 1500 ms");
  const phase = (label: string, pick: (t: LaunchTimes) => number | undefined): void => {
    const xs = traced.map(pick).filter((x): x is number => x !== undefined);
    if (xs.length > 0) console.log(`  ${label.padEnd(72)} ${f(median(xs))} ${range(xs)}`);
  };
  console.log("launch path, runInTerminal, traced (from the launch request):");
  phase("gdb ready (started with the adapter process)", (t) => t.gdbReady);
  phase("launch answered (setup pipelined; terminal made meanwhile)", (t) => t.launchResponse);
  phase("configurationDone answered (-exec-run ^running)", (t) => t.running);
  phase("bridge sourced (behind -exec-run, while the program starts)", (t) => t.bridge);
  phase("stopped at entry", (t) => t.launch);
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
