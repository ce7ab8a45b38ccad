// readMemory and writeMemory on memoryReferences, which are always plain "0x..." addresses.
// A write invalidates cached values and tells the client (memory and invalidated events).
import { InvalidatedEvent, MemoryEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

const MAX_READ = 1 << 20;

export function parseReference(reference: string, offset = 0): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(reference))
    throw new Error(`not a memory reference (a 0x address): ${reference}`);
  const address = BigInt(reference) + BigInt(offset);
  if (address < 0n) throw new Error("address before 0");
  return address;
}

function hex(a: bigint): string {
  return `0x${a.toString(16)}`;
}

async function readMemory(
  ctx: Context,
  a: DebugProtocol.ReadMemoryArguments,
): Promise<DebugProtocol.ReadMemoryResponse["body"]> {
  const mi = ctx.requireStopped("read memory");
  const start = parseReference(a.memoryReference, a.offset ?? 0);
  const count = Math.min(Math.max(0, a.count), MAX_READ);
  if (count === 0) return { address: hex(start), data: "" };
  let blocks;
  try {
    blocks = await mi.dataReadMemoryBytes(hex(start), count);
  } catch (e) {
    if (e instanceof MIError) return { address: hex(start), unreadableBytes: count };
    throw e;
  }
  // the readable prefix from `start`; what follows the first gap is left unread
  blocks.sort((x, y) => (x.begin < y.begin ? -1 : 1));
  const parts: Uint8Array[] = [];
  let at = start;
  for (const b of blocks) {
    if (b.begin !== at) break;
    parts.push(b.contents);
    at = b.end;
  }
  const data = Buffer.concat(parts);
  if (data.length === 0) return { address: hex(start), unreadableBytes: count };
  const body: DebugProtocol.ReadMemoryResponse["body"] = {
    address: hex(start),
    data: data.toString("base64"),
  };
  if (data.length < count) body.unreadableBytes = count - data.length;
  return body;
}

async function writeMemory(
  ctx: Context,
  a: DebugProtocol.WriteMemoryArguments,
): Promise<DebugProtocol.WriteMemoryResponse["body"]> {
  const mi = ctx.requireStopped("write memory");
  if (ctx.config?.kind === "core") throw new Error("cannot write memory: a core file is read-only");
  const start = parseReference(a.memoryReference, a.offset ?? 0);
  const bytes = Buffer.from(a.data, "base64");
  await mi.dataWriteMemoryBytes(hex(start), bytes);
  ctx.invalidateValues();
  ctx.client.sendEvent(new MemoryEvent(a.memoryReference, a.offset ?? 0, bytes.length));
  if (ctx.clientCaps.supportsInvalidatedEvent) ctx.client.sendEvent(new InvalidatedEvent(["variables"]));
  return { offset: 0, bytesWritten: bytes.length };
}

export const memoryFamily: RequestFamily = {
  name: "memory",
  capabilities: { supportsReadMemoryRequest: true, supportsWriteMemoryRequest: true },
  requests: { readMemory: handler(readMemory), writeMemory: handler(writeMemory) },
};
