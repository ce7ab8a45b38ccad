// Debugging aid: `node dist/typegen/src/tools/dump.js PROG [--types|--statics|--functions|--summary]`
// prints typegen's model of PROG (summary by default, with the time taken).

import { readTypes } from "../index";

function main(argv: string[]): void {
  const file = argv[0];
  if (!file) {
    console.error("usage: dump PROG [--types|--statics|--functions|--json|--summary]");
    process.exit(2);
  }
  const mode = argv[1] ?? "--summary";
  const t0 = process.hrtime.bigint();
  const m = readTypes(file);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (mode === "--json") return void console.log(JSON.stringify(m, null, 1));
  if (mode === "--types")
    for (const t of m.types) console.log(`${t.id}\t${t.kind}\t${t.byteSize}\t${t.name}\t${t.cName}`);
  if (mode === "--statics")
    for (const s of m.statics)
      console.log(`${s.addr.toString(16)}\t${s.size}\t${s.name}\t${m.types[s.type].cName}`);
  if (mode === "--functions")
    for (const f of m.functions)
      console.log(
        `${f.lowPc.toString(16)}\t${f.name}\t${m.types[f.type].cName}\t` +
          [...f.params, ...f.locals]
            .map((l) => `${l.name}:${JSON.stringify(l.locations.map((r) => r.loc))}`)
            .join(" "),
      );
  const rss = Math.round(process.memoryUsage().rss / 1e6);
  console.error(
    `${file}: ${m.units} units, ${m.types.length} types, ${m.typedefs.length} typedefs, ${m.statics.length} statics, ` +
      `${m.functions.length} functions in ${ms.toFixed(0)} ms, rss ${rss} MB`,
  );
}

main(process.argv.slice(2));
