// Serving sessions: on stdio (one session, the process ends with it) or on a TCP port (one
// session per connection, the server lives on).
import * as net from "node:net";

import { AllocsDebugSession } from "./session";

export function serveStdio(): AllocsDebugSession {
  const session = new AllocsDebugSession();
  process.on("SIGTERM", () => session.shutdown());
  session.start(process.stdin, process.stdout);
  return session;
}

/** Listens on `port` (0: any free port); resolves once listening. */
export function serve(port: number, host = "127.0.0.1"): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const session = new AllocsDebugSession();
    session.setRunAsServer(true);
    socket.on("close", () => session.shutdown());
    socket.on("error", () => socket.destroy());
    session.start(socket, socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
