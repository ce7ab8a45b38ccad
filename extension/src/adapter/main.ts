// The adapter's entry point (kept stable: the VS Code extension launches this file).
//   node main.js            one session on stdin/stdout
//   node main.js --port N   a TCP server, one session per connection
import { serve, serveStdio } from "./server";

const portArg = process.argv.slice(2).find((a) => /^--(port|server)[= ]?\d*$/.test(a));
const index = process.argv.indexOf("--port");
const port =
  index > 0
    ? Number(process.argv[index + 1])
    : portArg !== undefined
      ? Number(portArg.split("=")[1])
      : undefined;

if (port !== undefined && Number.isInteger(port) && port >= 0) {
  serve(port).then((server) => {
    const address = server.address();
    const actual = typeof address === "object" && address !== null ? address.port : port;
    process.stderr.write(`allocs adapter: listening on port ${actual}\n`);
  });
} else {
  serveStdio();
}
