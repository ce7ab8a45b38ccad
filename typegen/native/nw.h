/* The native DIE walker's shared declarations (no Node headers: the walker core builds alone).
 *
 * The walker is a faithful copy of typegen/src/model/collect.ts and collect-code.ts reading
 * through dwarf/die.ts, abbrev.ts and forms.ts: it fills the same RawTable / FrameTable /
 * CodeDies columns with the same numbers. Numbers are doubles computed as the JS computes them
 * (a 64-bit value is hi * 2^32 + lo, a LEB128 a sum of doubles), so values beyond 2^53 round
 * the same way. Whenever the JS would throw, or the walker meets something it does not copy
 * (DW_FORM_indirect, the dwz alt file, a C++ scope name it cannot check), the unit is
 * given back to the JS walk (NW_FALLBACK), which then does exactly what it always did. */
#ifndef NW_H
#define NW_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/* Results of nw_walk_unit. NW_ROOM_*: a column is full; JS grows it and walks the unit again. */
enum {
    NW_OK = 0,
    NW_FALLBACK = 1,
    NW_ROOM_RECORDS = 2,
    NW_ROOM_ITEMS = 3,
    NW_ROOM_FNS = 4,
    NW_ROOM_LOCALS = 5,
    NW_ROOM_CODEDIES = 6,
    NW_ROOM_SCOPES = 7,
    NW_ROOM_STATICS = 8,
};

typedef struct {
    const uint8_t *b;
    size_t len;
} nw_sec;

/* One abbrev table (dwarf/abbrev.ts), parsed for one (offset, unit format). */
typedef struct nw_abbrevs {
    size_t offset;
    int version, addr_size, offset_size;
    int has_indirect;
    /* Per spec. */
    double *attrs;
    int *forms;
    int *offsets;    /* value offset from the attribute start, -1 after a variable size */
    int *spec_sizes; /* size when fixed, else an NW_SKIP_* code */
    double *consts;  /* DW_FORM_implicit_const values */
    size_t n_specs;
    /* Per abbrev. */
    double *tags;
    double *codes;
    uint8_t *children;
    int *starts, *counts, *sizes;
    size_t n_abbrevs;
    /* Per abbrev and planned attribute (abbrev.c PLANNED): its first spec's index minus the
     * abbrev's first, or -1; a query is then one read, not a scan of the abbrev's specs. */
    int16_t *plan;
    /* code -> index + 1 for codes below NW_DENSE_CODES (first definition wins). */
    int *dense;
    size_t n_dense;
    struct nw_abbrevs *next; /* the file's cache list */
} nw_abbrevs;

#define NW_DENSE_CODES 65536
#define NW_SKIP_LEB (-1)
#define NW_SKIP_CSTR (-2)
#define NW_SKIP_BLOCK1 (-3)
#define NW_SKIP_BLOCK2 (-4)
#define NW_SKIP_BLOCK4 (-5)
#define NW_SKIP_BLOCK_LEB (-6)
#define NW_SKIP_INDIRECT (-7)
#define NW_SKIP_UNKNOWN (-8)

/* A unit as dwarf/units.ts read its header; src 0 .debug_info, 1 .debug_types, 2 alt file. */
typedef struct {
    int src;
    size_t offset, end, die_offset;
    int version, addr_size, offset_size;
    size_t abbrev_offset;
    int is_type_unit;
    uint64_t signature;  /* a type unit's */
    size_t type_offset;  /* section offset of a type unit's type DIE */
    nw_abbrevs *abbrevs; /* parsed on first use */
    /* Root DIE facts (DieCursor.initUnit): 0 not read, 1 read, -1 it failed. */
    int init;
    double str_offsets_base, addr_base, loclists_base, language;
    /* The rest of what DieCursor.initUnit reads, handed back to JS with the walk. */
    double root_tag, rnglists_base, stmt_list, low_pc, name_ref, comp_dir_ref, producer_ref;
} nw_unit;

/* The sections and units of one file, given once by JS; the walker reads nothing else. */
typedef struct {
    nw_sec info, types, abbrev, str, line_str, str_offsets, addr, loc, loclists, ranges, rnglists;
    double types_base;    /* key base of .debug_types (after .debug_info) */
    double alt_info_base; /* key base of the alt file's .debug_info, or -1 */
    int has_alt;
    nw_unit *units; /* in key order, as Dwarf.units */
    size_t n_units;
    nw_abbrevs *abbrev_cache; /* every table parsed, a list (to free them) */
    /* Type units by signature (DW_FORM_ref_sig8), sorted on first use: unit indices. */
    size_t *sig_order;
    size_t n_sigs;
    /* The same tables hashed by offset (open addressing, a power of two; 0: not made yet). */
    nw_abbrevs **abbrev_hash;
    size_t abbrev_hash_size, abbrev_count;
} nw_file;

/* Where a failure jumps: the unit is given back to JS. `why` says why (diagnostics). */
typedef struct {
    jmp_buf jb;
    const char *why;
} nw_trap;

_Noreturn void nw_fail(nw_trap *t, const char *why);

/* abbrev.c */
int nw_form_skip(int form, int version, int addr_size, int offset_size);
nw_abbrevs *nw_abbrevs_for(nw_file *f, nw_unit *u, nw_trap *t);
int nw_abbrev_index(const nw_abbrevs *a, double code);
/* The planned slot of attribute `at` (below 0x100), or -1; NW_SLOTS slots per abbrev. */
extern const int8_t nw_slot_of[0x100];
#define NW_SLOTS 25
/* 1 if the table at `offset` parses as abbrev.ts parses it (no error): JS may then build its
 * own copy lazily, on first use, and no error moves. */
int nw_abbrevs_check(const nw_sec *abbrev, double offset, int version, int addr_size,
                     int offset_size);
void nw_abbrevs_free(nw_abbrevs *a);

/* The DIE cursor (cursor.c), dwarf/die.ts's DieCursor. */
typedef struct {
    nw_file *f;
    nw_unit *u;
    nw_trap *t;
    const uint8_t *b; /* the unit's section */
    size_t buflen;    /* its length */
    size_t end;       /* the unit's end */
    double base;      /* key base of the unit's section */
    nw_abbrevs *tab;
    size_t off, next;
    int ai; /* abbrev index, -1 for a null entry */
    double tag;
    int has_children;
    size_t attr_base;
    int variable;
    size_t *positions;
    size_t n_positions;
    size_t block_start, block_end;
} nw_cur;

void nw_cur_set_unit(nw_cur *c, nw_unit *u);
int nw_cur_read(nw_cur *c, size_t off);
int nw_cur_find(const nw_cur *c, int at);
int nw_cur_form(nw_cur *c, int at);
int nw_cur_udata(nw_cur *c, int at, double *out);
int nw_cur_sdata(nw_cur *c, int at, double *out);
int nw_cur_flag(nw_cur *c, int at);
double nw_cur_str_ref(nw_cur *c, int at);
double nw_cur_ref(nw_cur *c, int at);
int nw_cur_addr(nw_cur *c, int at, double *out);
int nw_cur_block(nw_cur *c, int at);
int nw_cur_high_pc(nw_cur *c, double low, double *out);
size_t nw_cur_skip_children(nw_cur *c);
double nw_cur_key(const nw_cur *c);
/* Dwarf.seek: positions c on the DIE with key `key`; 0 for a null entry. */
int nw_seek(nw_cur *c, double key);
void nw_unit_init(nw_file *f, nw_unit *u, nw_trap *t);
nw_unit *nw_unit_for(nw_file *f, double key);
double nw_unit_base(const nw_file *f, const nw_unit *u);
/* The section a unit's DIEs are in. */
const nw_sec *nw_unit_sec(const nw_file *f, const nw_unit *u);
void nw_cur_free(nw_cur *c);
/* Dwarf.resolveSig: the key of the type DIE of the first type unit with `sig`, or -1. */
double nw_resolve_sig(nw_file *f, uint64_t sig, nw_trap *t);
double nw_addr_index(nw_file *f, const nw_unit *u, double idx, nw_trap *t);

/* loclist.c: lazy-locations.ts mayBeStatic's look at a location list: the first operation of
 * its first entry's expression (0 for an empty one), -1 with no entry. */
/* ranges.c: a subprogram's DW_AT_ranges as [lowest start, highest end]; 0 for an empty list. */
int nw_ranges_span(nw_file *f, const nw_unit *u, int form, double value, double *lo, double *hi,
                   nw_trap *t);

int nw_list_first_op(nw_file *f, const nw_unit *u, int form, double value, nw_trap *t);

/* String references (dwarf/str-ref.ts). */
#define NW_NO_STR (-1.0)
#define NW_EMPTY_STR (-2.0)
#define NW_LINE_STR 70368744177664.0 /* 2^46 */
#define NW_ALT_STR 140737488355328.0 /* 2^47 */
/* A scope entry naming "(anonymous namespace)" (not a reference). */
#define NW_ANON_NAMESPACE (-1.5)

/* What the walk fills: the JS tables' columns (raw-table.ts, frame-table.ts, dwarf.ts CodeDies). */
typedef struct {
    /* RawTable, per record. */
    double *key, *name_ref, *byte_size, *encoding, *bit_size, *target;
    int32_t *tag, *flags, *head, *tail, *id_epoch, *name_epoch, *code_epoch;
    size_t rec_cap;
    /* Per item. */
    double *item_name_ref, *item_a, *item_offset, *item_bit_size, *item_bit_offset;
    int32_t *item_next;
    size_t item_cap;
    int32_t *slots;
    size_t slots_len;
    /* FrameTable rows (F_COLS and LS_COLS doubles each). */
    double *fcols;
    size_t f_cap;
    double *lcols;
    size_t l_cap;
    double *scols; /* statics, S_COLS doubles each */
    size_t s_cap;
    /* CodeDies. */
    double *cd_keys;
    int32_t *cd_depths;
    size_t cd_cap;
    /* Scopes of C++ aggregates: [record, count, ref...] per scoped record. */
    double *scopes;
    size_t scopes_cap;
    /* The two cursors' attribute positions, kept from walk to walk (the caller frees them). */
    size_t *positions[2];
    size_t n_positions[2];
} nw_columns;

/* The call back into JS for what stays there (decoding location lists). Each returns -1
 * when JS threw (the unit falls back; the JS walk throws again). */
typedef struct {
    void *ctx;
    /* A location list that may be a static's, decoded in JS (lazy-locations.ts decodeLocation):
     * 1 one range at an address, 2 one range at a TLS offset (in *value), 0 anything else. */
    int (*list_static)(void *ctx, double form, double start, double lo, double hi, double *value);
} nw_hooks;

/* Counters and the state the JS CodeReader keeps between units (in and out). */
typedef struct {
    size_t n, items, fns, locals, cd_len, n_scopes, statics;
    double synth;
    double loc_is_block, loc_form, loc_start, loc_end;
} nw_state;

/* walk.c: collect.ts's walk of unit `ui`; `code`: note CodeDies. Returns NW_*. */
int nw_walk_unit(nw_file *f, size_t ui, int code, nw_columns *cols, nw_hooks *hooks, nw_state *st,
                 const char **why);

void nw_file_free(nw_file *f);

#endif
