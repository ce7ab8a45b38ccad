// The adapter's entry point (kept stable: the VS Code extension launches this file).
//   node main.js            one session on stdin/stdout
//   node main.js --port N   a TCP server, one session per connection
import { startEarlyGdb } from "./early-gdb";

const portArg = process.argv.slice(2).find((a) => /^--(port|server)[= ]?\d*$/.test(a));
const index = process.argv.indexOf("--port");
const port =
  index > 0
    ? Number(process.argv[index + 1])
    : portArg !== undefined
      ? Number(portArg.split("=")[1])
      : undefined;

if (!(port !== undefined && Number.isInteger(port) && port >= 0)) {
  // one session: its gdb starts now, while node loads the rest of the adapter
  startEarlyGdb();
}
// loaded after gdb was started (an import would load it first)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serve, serveStdio } = require("./server") as typeof import("./server");
if (port !== undefined && Number.isInteger(port) && port >= 0) {
  serve(port).then((server) => {
    const address = server.address();
    const actual = typeof address === "object" && address !== null ? address.port : port;
    process.stderr.write(`allocs adapter: listening on port ${actual}\n`);
  });
} else {
  serveStdio();
}
