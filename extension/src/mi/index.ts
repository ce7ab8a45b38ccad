// The GDB/MI layer's public surface: everything the adapter's handlers import.
export * from "./values";
export * from "./errors";
export { parseRecord, parseTranscript, MILineSplitter } from "./parser";
export {
  formatCommand,
  consoleCommand,
  quoteArgument,
  quoteCString,
  MICommandError,
  type MICommand,
} from "./serialize";
export { decodeCString } from "./cstring";
export * from "./connection";
export * from "./model";
export * from "./async-events";
export * from "./command-args";
export * from "./commands";
export { TypedEmitter, type Listener } from "./emitter";
