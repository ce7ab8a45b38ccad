// Zero setup for the commands that start or open a program (run, gdb, core): the missing type
// metadata of the program and its libraries is made first (typegen/src/meta/ensure.ts), with a
// progress line on a terminal, one line saying what it does otherwise, and nothing at all when
// everything is already there. A failure is a warning: the program still runs, less typed.
import * as path from "node:path";
import { EnsureProgress, EnsureReport, ensureMetadata } from "../../typegen/src/meta/ensure";
import { cacheDir } from "../../typegen/src/meta/generate";

export function terminalProgress(who: string, stream: NodeJS.WriteStream = process.stderr): EnsureProgress {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let current = "";
  let label = "";
  let stage = "";
  let fraction = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    const width = 20;
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(
      `\r\x1b[K${who}: type metadata ${label} ${current} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${stage} ${secs}s`,
    );
  };
  return {
    start(files) {
      const names = files.map((f) => path.basename(f)).join(", ");
      if (tty) timer = setInterval(draw, 200);
      else stream.write(`${who}: making type metadata (once per build) for ${names} in ${cacheDir()}\n`);
    },
    object(file, index, total) {
      current = path.basename(file);
      label = `${index + 1}/${total}`;
      stage = "starting";
      fraction = 0;
      if (tty) draw();
    },
    stage(s, f) {
      stage = s;
      fraction = f;
    },
    end(report: EnsureReport) {
      if (timer) clearInterval(timer);
      if (tty) {
        stream.write("\r\x1b[K");
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        if (report.generated.length > 0)
          stream.write(
            `${who}: type metadata made for ${report.generated.map((g) => path.basename(g.file)).join(", ")} (${secs}s, kept in ${cacheDir()})\n`,
          );
      }
      for (const f of report.failed)
        stream.write(`${who}: warning: no type metadata for ${f.file}: ${f.message}\n`);
    },
  };
}

/** Makes the missing metadata of `files`, reporting on stderr as `who`; never throws. */
export async function prepareMetadata(who: string, files: string[]): Promise<EnsureReport | undefined> {
  try {
    return await ensureMetadata(files, terminalProgress(who));
  } catch (e) {
    process.stderr.write(`${who}: warning: type metadata not prepared: ${(e as Error).message}\n`);
    return undefined;
  }
}
