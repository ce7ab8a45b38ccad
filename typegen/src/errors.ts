// The one error type typegen throws for bad input. Callers (the CLI, the fuzz test) rely on every
// malformed-file outcome being this class, so that a message can always name the file, the
// section and the byte offset where reading went wrong.

export class TypegenFormatError extends Error {
  override readonly name = "TypegenFormatError";
  constructor(
    /** The file being read (the debug file when reading a separate debug file). */
    readonly file: string,
    /** The section ("ELF header", ".debug_info", ...). */
    readonly section: string,
    /** Byte offset inside that section (or the file, for headers). */
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${file}: ${section} at offset 0x${offset.toString(16)}: ${detail}`);
  }
}

/** Loops that follow data from the file are bounded by this many steps per unit of work. */
export const MAX_STEPS = 50_000_000;
