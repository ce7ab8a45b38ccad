// The VS Code side's pure parts: launch configuration defaults and errors, the adapter command,
// the process picker's parsing, and the manifest (extension/package.json) against the code.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  COMMANDS,
  POST_MORTEM_CONTEXT,
  adapterCommand,
  checkSubstituted,
  defaultLaunchConfiguration,
  isPostMortem,
  resolveConfiguration,
  type AllocsConfiguration,
  type FileChecks,
  type Resolution,
} from "../../extension/src/vscode/config";
import { parseProcessList } from "../../extension/src/vscode/processes";

const ROOT = path.resolve(__dirname, "..", "..", "..");

function ok(r: Resolution): AllocsConfiguration {
  if (r.kind !== "ok") assert.fail(`expected a configuration, got the error: ${r.message}`);
  return r.config;
}

function err(r: Resolution): string {
  if (r.kind !== "error") assert.fail(`expected an error, got ${JSON.stringify(r.config)}`);
  return r.message;
}

function fakeFs(files: string[], dirs: string[], notExecutable: string[] = []): FileChecks {
  return {
    isFile: (f) => files.includes(f),
    isDirectory: (d) => dirs.includes(d),
    isExecutable: (f) => files.includes(f) && !notExecutable.includes(f),
  };
}

describe("vscode: launch configurations", () => {
  it("F5 without launch.json on a C file debugs the program built from it", () => {
    const c = ok(resolveConfiguration({}, { activeFile: "/w/pts.c", languageId: "c", hasFolder: true }));
    assert.deepEqual(c, { ...defaultLaunchConfiguration(), miDebuggerPath: "gdb" });
    assert.equal(c.type, "allocs");
    assert.equal(c.request, "launch");
    assert.equal(c.program, "${fileDirname}/${fileBasenameNoExtension}");
    assert.equal(c.preload, true);
  });

  it("F5 without launch.json and no C file says what to do", () => {
    const m = err(resolveConfiguration({}, { activeFile: "/w/notes.txt", languageId: "plaintext" }));
    assert.match(m, /nothing to debug/);
    assert.match(m, /launch\.json/);
  });

  it("fills the defaults of a launch configuration, keeping what is set", () => {
    const c = ok(
      resolveConfiguration(
        {
          type: "allocs",
          request: "launch",
          name: "mine",
          program: "${workspaceFolder}/a.out",
          preload: false,
        },
        { hasFolder: true },
      ),
    );
    assert.deepEqual(c.args, []);
    assert.equal(c.stopAtEntry, false);
    assert.equal(c.preload, false);
    assert.equal(c.miDebuggerPath, "gdb");
    assert.equal(c.cwd, "${workspaceFolder}");
    assert.equal(c.name, "mine");
  });

  it("no cwd default without a workspace folder (the adapter then uses the program's)", () => {
    const c = ok(resolveConfiguration({ type: "allocs", request: "launch", name: "x", program: "/p" }));
    assert.equal(c.cwd, undefined);
  });

  it("a missing or empty program is an error naming the configuration and the attribute", () => {
    for (const program of [undefined, "", "   ", 42]) {
      const m = err(resolveConfiguration({ type: "allocs", request: "launch", name: "pts", program }));
      assert.match(m, /'pts'/);
      assert.match(m, /"program"/);
      assert.match(m, /gcc -g/);
    }
    const core = err(
      resolveConfiguration({ type: "allocs", request: "launch", name: "c", coreDumpPath: "/core" }),
    );
    assert.match(core, /dumped the core/);
  });

  it("rejects attributes of the wrong shape with the attribute's name", () => {
    const base = { type: "allocs", request: "launch", name: "n", program: "/p" };
    assert.match(err(resolveConfiguration({ ...base, args: "--verbose" })), /"args".*array of strings/);
    assert.match(err(resolveConfiguration({ ...base, args: ["a", 1] })), /"args"/);
    assert.match(err(resolveConfiguration({ ...base, environment: { A: "1" } })), /"environment"/);
    assert.match(err(resolveConfiguration({ ...base, env: ["A=1"] })), /"env"/);
    assert.match(err(resolveConfiguration({ ...base, stopAtEntry: "yes" })), /"stopAtEntry".*boolean/);
    assert.match(err(resolveConfiguration({ ...base, preload: 1 })), /"preload".*boolean/);
    assert.match(err(resolveConfiguration({ ...base, request: "run" })), /"launch" or "attach"/);
    ok(resolveConfiguration({ ...base, environment: [{ name: "A", value: "1" }], env: { B: "2" } }));
  });

  it("attach: picks a process by default and accepts a number or a numeric string", () => {
    const c = ok(resolveConfiguration({ type: "allocs", request: "attach", name: "a" }));
    assert.equal(c.processId, "${command:pickProcess}");
    ok(resolveConfiguration({ type: "allocs", request: "attach", name: "a", processId: 1234 }));
    ok(resolveConfiguration({ type: "allocs", request: "attach", name: "a", processId: "1234" }));
    assert.match(
      err(resolveConfiguration({ type: "allocs", request: "attach", name: "a", processId: "my-server" })),
      /"processId"/,
    );
    assert.match(
      err(resolveConfiguration({ type: "allocs", request: "attach", name: "a", processId: -3 })),
      /"processId"/,
    );
  });

  it("after substitution: the program, the cwd and the core file must exist", () => {
    const fsx = fakeFs(["/w/a.out", "/w/core.1", "/w/data.txt"], ["/w"], ["/w/data.txt"]);
    const base = { type: "allocs", request: "launch", name: "n" };
    ok(checkSubstituted({ ...base, program: "/w/a.out", cwd: "/w" }, fsx));
    ok(checkSubstituted({ ...base, program: "a.out", cwd: "/w" }, fsx)); // relative to cwd
    assert.match(
      err(checkSubstituted({ ...base, program: "/w/b.out" }, fsx)),
      /"\/w\/b\.out" does not exist.*Build it/,
    );
    assert.match(
      err(checkSubstituted({ ...base, program: "/w/a.out", cwd: "/nope" }, fsx)),
      /working directory/,
    );
    assert.match(err(checkSubstituted({ ...base, program: "/w/data.txt" }, fsx)), /not executable/);
    ok(checkSubstituted({ ...base, program: "/w/a.out", coreDumpPath: "/w/core.1" }, fsx));
    assert.match(
      err(checkSubstituted({ ...base, program: "/w/a.out", coreDumpPath: "/w/core.2" }, fsx)),
      /core file "\/w\/core\.2".*does not exist/,
    );
  });

  it("after substitution: an attach's picked process id becomes a number; a cancelled pick is an error", () => {
    const fsx = fakeFs([], []);
    const c = ok(
      checkSubstituted({ type: "allocs", request: "attach", name: "a", processId: " 4321 " }, fsx),
    );
    assert.equal(c.processId, 4321);
    assert.match(
      err(checkSubstituted({ type: "allocs", request: "attach", name: "a", processId: "" }, fsx)),
      /no process/,
    );
  });

  it("runs the adapter's main.js with the extension host's node (Electron as node)", () => {
    const c = adapterCommand("/ext", "/usr/bin/node");
    assert.equal(c.command, "/usr/bin/node");
    assert.deepEqual(c.args, ["/ext/dist/extension/src/adapter/main.js"]);
    assert.equal(c.env.ELECTRON_RUN_AS_NODE, "1");
    // the checkout has the same layout as the .vsix
    assert.ok(
      fs.existsSync(adapterCommand(ROOT, process.execPath).args[0]),
      "the adapter is built in the checkout",
    );
  });
});

describe("vscode: process picker", () => {
  it("parses ps output (fixed-width name column), newest first, without ps itself", () => {
    const name = (s: string): string => s.padEnd(40);
    const text = [
      `      ${"x".repeat(40)} `,
      `    1 ${name("systemd")} /sbin/init splash`,
      `  812 ${name("my server")} ./my server --port 8080`,
      `  900 ${name("ps")} ps -A`,
      `  901 ${name("kworker/0:1")} `,
      "",
    ].join("\n");
    const list = parseProcessList(text, 900);
    assert.deepEqual(
      list.map((p) => [p.pid, p.name, p.command]),
      [
        [901, "kworker/0:1", "kworker/0:1"],
        [812, "my server", "./my server --port 8080"],
        [1, "systemd", "/sbin/init splash"],
      ],
    );
  });
});

describe("vscode: the manifest (extension/package.json)", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "extension", "package.json"), "utf8")) as {
    name: string;
    publisher: string;
    main: string;
    engines: { vscode: string };
    activationEvents: string[];
    contributes: {
      commands: { command: string; title: string; category?: string }[];
      debuggers: {
        type: string;
        variables: Record<string, string>;
        configurationAttributes: Record<string, { required: string[]; properties: Record<string, unknown> }>;
        configurationSnippets: { body: Record<string, unknown> }[];
        initialConfigurations?: AllocsConfiguration[];
      }[];
      breakpoints: { language: string }[];
      menus: Record<string, { command: string; when?: string; group?: string }[]>;
      keybindings: { command: string; key: string; when: string }[];
    };
  };

  it("names the extension, VS Code 1.100 and a main that the build produces", () => {
    assert.equal(manifest.name, "allocs");
    assert.ok(manifest.publisher);
    assert.equal(manifest.engines.vscode, "^1.100.0");
    assert.ok(fs.existsSync(path.join(ROOT, manifest.main)), `${manifest.main} exists after the build`);
    assert.ok(manifest.activationEvents.includes("onDebugResolve:allocs"));
    assert.deepEqual(manifest.contributes.breakpoints, [{ language: "c" }]);
  });

  it("contributes exactly the commands the extension registers", () => {
    assert.deepEqual(
      manifest.contributes.commands.map((c) => c.command).sort(),
      Object.values(COMMANDS).sort(),
    );
    const titles = manifest.contributes.commands.map((c) => `${c.category}: ${c.title}`);
    for (const t of ["Allocs: Describe Address...", "Allocs: Show Heap Census", "Allocs: Show Memory Map"]) {
      assert.ok(titles.includes(t), t);
    }
  });

  it("a core file's session: a lock on the debug toolbar, and the execution keys say why instead", () => {
    assert.equal(isPostMortem({ request: "launch", coreDumpPath: "/tmp/core.1" }), true);
    assert.equal(isPostMortem({ request: "launch", program: "/bin/prog" }), false);
    assert.equal(isPostMortem({ request: "attach", coreDumpPath: "/tmp/core.1" }), false);
    assert.equal(isPostMortem({ request: "launch", coreDumpPath: " " }), false);
    assert.equal(isPostMortem(undefined), false);
    const lock = manifest.contributes.commands.find((c) => c.command === COMMANDS.postMortemInfo) as {
      icon?: string;
      enablement?: string;
    };
    assert.equal(lock.icon, "$(lock)");
    assert.equal(lock.enablement, POST_MORTEM_CONTEXT);
    assert.deepEqual(manifest.contributes.menus["debug/toolBar"], [
      { command: COMMANDS.postMortemInfo, when: POST_MORTEM_CONTEXT, group: "navigation" },
    ]);
    // Continue (F5), Step Over (F10), Into (F11), Out (Shift+F11), only while a core file is stopped
    assert.deepEqual(
      manifest.contributes.keybindings.map((k) => [k.key, k.command, k.when]),
      ["f5", "f10", "f11", "shift+f11"].map((key) => [
        key,
        COMMANDS.postMortemInfo,
        `${POST_MORTEM_CONTEXT} && debugState == 'stopped'`,
      ]),
    );
  });

  it("declares the debugger type allocs with cppdbg-like launch, attach and core attributes", () => {
    const d = manifest.contributes.debuggers[0];
    assert.equal(d.type, "allocs");
    assert.equal(d.variables.pickProcess, COMMANDS.pickProcess);
    const launch = Object.keys(d.configurationAttributes.launch.properties);
    for (const a of [
      "program",
      "args",
      "cwd",
      "environment",
      "stopAtEntry",
      "miDebuggerPath",
      "preload",
      "metadataDir",
    ]) {
      assert.ok(launch.includes(a), `launch has ${a}`);
    }
    assert.ok(launch.includes("coreDumpPath"), "core files are a launch with coreDumpPath");
    assert.deepEqual(d.configurationAttributes.launch.required, ["program"]);
    assert.ok("processId" in d.configurationAttributes.attach.properties);
    const requests = d.configurationSnippets.map(
      (s) => `${String(s.body.request)}${s.body.coreDumpPath ? "+core" : ""}`,
    );
    assert.deepEqual(requests.sort(), ["attach", "launch", "launch+core"]);
    // "create a launch.json file" writes the provider's one configuration: a static list beside it
    // would be written too (two identical configurations)
    assert.equal(d.initialConfigurations, undefined);
    ok(resolveConfiguration(defaultLaunchConfiguration(), { hasFolder: true }));
  });

  it("allows every attribute the adapter reads, with cppdbg's names", () => {
    const d = manifest.contributes.debuggers[0];
    const launch = d.configurationAttributes.launch.properties as Record<string, { enum?: string[] }>;
    for (const a of ["env", "console", "externalConsole", "setupCommands", "MIMode", "traceMI"])
      assert.ok(a in launch, `launch allows ${a}`);
    assert.deepEqual(launch.console.enum, ["integratedTerminal", "externalTerminal", "internalConsole"]);
    assert.deepEqual(launch.MIMode.enum, ["gdb"]);
    const attach = d.configurationAttributes.attach.properties;
    for (const a of ["setupCommands", "MIMode"]) assert.ok(a in attach, `attach allows ${a}`);
  });
});
