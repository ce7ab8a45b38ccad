// `allocs adapter [--port N]`: the debug adapter for any DAP client (debugger type `allocs`),
// on stdin/stdout, or as a TCP server with one session per connection.
import { serve, serveStdio } from "../../../extension/src/adapter/server";
import { UsageError } from "../paths";

export async function adapterCommand(args: string[]): Promise<number> {
  let port: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = /^--port=(\d+)$/.exec(a);
    if (eq !== null) port = Number(eq[1]);
    else if (a === "--port" && /^\d+$/.test(args[i + 1] ?? "")) port = Number(args[++i]);
    else throw new UsageError(`allocs adapter: unknown argument '${a}' (usage: allocs adapter [--port N])`);
  }
  if (port === undefined) {
    serveStdio();
  } else {
    const s = await serve(port);
    const address = s.address();
    const actual = typeof address === "object" && address !== null ? address.port : port;
    process.stderr.write(`allocs adapter: listening on 127.0.0.1:${actual}\n`);
  }
  // serve until stdin closes (stdio) or forever (TCP): never resolve
  return new Promise<number>(() => undefined);
}
