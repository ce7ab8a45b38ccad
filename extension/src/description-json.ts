// The address description as the gdb bridge writes it (docs/address-description.md), typed once
// for both the debug adapter and the extension host.

export interface SiteJson {
  readonly pc?: string | null;
  readonly function?: string | null;
  readonly file?: string | null;
  readonly line?: number | null;
  readonly seq?: number | null;
  readonly frame?: number | null;
  readonly variable?: string | null;
  readonly thread?: number | null;
  readonly symbol?: string | null;
  readonly object?: string | null;
  readonly section?: string | null;
  /** a call into C++ standard-library code: the library frame (metadata flag SITE_LIBRARY) */
  readonly via?: SiteViaJson | null;
  /** an address in a GNU obstack's chunk (allocator obstack): the struct obstack's address */
  readonly obstack?: string | null;
  readonly chunk?: string | null;
  readonly limit?: string | null;
  /** the obstack's next_free when the chunk is its current one, null for an older chunk */
  readonly nextFree?: string | null;
  /** used: objects the obstack macros carved (no boundaries recorded); free: its unused tail */
  readonly part?: "used" | "free" | null;
}

export interface SiteViaJson {
  readonly function: string | null;
  readonly file: string | null;
  readonly line: number | null;
}

export interface LevelJson {
  readonly allocator: string;
  readonly base: string;
  readonly size: number;
  readonly name?: string | null;
}

export interface DescriptionJson {
  readonly address: string;
  readonly allocator: string | null;
  readonly base: string | null;
  readonly size: number | null;
  readonly offset: number | null;
  readonly type: string | null;
  readonly uniqtype?: string | null;
  readonly path?: string;
  readonly pathType?: string | null;
  readonly state: string;
  readonly site: SiteJson | null;
  readonly chain: readonly LevelJson[];
  readonly runtime?: boolean;
  readonly notes?: readonly string[];
  /** Failed checks of the runtime's tables behind this answer (docs/address-description.md "Damage"). */
  readonly damage?: readonly DamageJson[];
}

/** One failed check: the damaged record's address and what is wrong with it. */
export interface DamageJson {
  readonly address: string;
  readonly what: string;
}
