/* allocs_layout.h: the runtime's index as it lies in the process's memory (layout version 2).
 *
 * This is the contract between the runtime (writer) and every out-of-process reader (the gdb
 * bridge, on live processes and core files). docs/runtime-layout.md explains it in prose; the
 * two must agree, and tests check both sides. Rules:
 *   - one exported symbol, `__allocs_root`, is a struct allocs_root;
 *   - every address stored here is a plain virtual address in the process (uint64_t);
 *   - everything lives in the runtime's .data/.bss or in private anonymous mappings, never in
 *     MADV_DONTDUMP memory, so a kernel core with the default coredump_filter holds it all;
 *   - fields are fixed-width, little-endian, naturally aligned; sizes are checked below;
 *   - a reader checks magic, version and root_size before anything else.
 */
#ifndef ALLOCS_LAYOUT_H
#define ALLOCS_LAYOUT_H

#include <stdint.h>

#define ALLOCS_ROOT_SYMBOL "__allocs_root"
#define ALLOCS_MAGIC "ALLOCS\x01\x00" /* 8 bytes including the trailing NUL */
#define ALLOCS_LAYOUT_VERSION 4u

/* ---- Heap chunk index ----
 * Chunk starts are marked in sparse byte maps: one byte per 16-byte granule, so malloc and free
 * mark and unmark with a plain byte store (no locked instruction, no lost update between
 * threads). The address space is cut into 128 MiB regions; chunk_l1[addr >> 27] is the address
 * of that region's map (or 0). Byte g of the map, with g = (addr & (128 MiB - 1)) >> 4, is
 * non-zero when a live chunk's user pointer is addr; a reader treats any non-zero byte as a start.
 * The value also says what free and a lookup need to know, so that neither reads more:
 *   1..SIZED_MAX  a chunk without pool objects whose usable size is 16 * value - 8 (glibc: the
 *                 header's size is 16 * value), so a lookup needs no header read;
 *   PLAIN         a chunk without pool objects, usable size from the real allocator;
 *   SLOW          a large chunk (also in the large-chunk table) or one holding pool objects:
 *                 free takes its general path. */
#define ALLOCS_CHUNK_MARK_SIZED_MAX 253u
#define ALLOCS_CHUNK_MARK_PLAIN 254u
#define ALLOCS_CHUNK_MARK_SLOW 255u
#define ALLOCS_GRANULE_SHIFT 4u
#define ALLOCS_CHUNK_REGION_SHIFT 27u
/* user space is 47 bits */
#define ALLOCS_CHUNK_L1_ENTRIES (1u << (47u - ALLOCS_CHUNK_REGION_SHIFT))
#define ALLOCS_CHUNK_MAP_BYTES ((1ul << ALLOCS_CHUNK_REGION_SHIFT) >> ALLOCS_GRANULE_SHIFT)

/* Chunks whose extent (usable size less the trailer) is at least this are also listed in the
 * large-chunk table, so an interior pointer never scans more than this many bytes' worth of
 * map. */
#define ALLOCS_LARGE_CHUNK_BYTES (32u * 1024u)

/* Each chunk ends with an 8-byte trailer at base + usable_size - 8, where usable_size is the
 * underlying malloc's usable size (glibc: chunk header at base - 8; size = header & ~7;
 * usable = size - 16 if header & 2 (mmapped) else size - 8). */
#define ALLOCS_TRAILER_BYTES 8u
#define ALLOCS_TRAILER_SEQ_BITS 30u
#define ALLOCS_TRAILER_SEQ_MASK ((1ull << 30) - 1)
#define ALLOCS_TRAILER_POOL_BIT (1ull << 30)        /* the chunk holds registered pool objects */
#define ALLOCS_TRAILER_SITE_SHIFT 31u               /* site id: index into the site table */
#define ALLOCS_TRAILER_SITE_MASK ((1ull << 20) - 1) /* 0 = unknown site */
#define ALLOCS_TRAILER_SLACK_SHIFT 51u              /* usable - 8 - requested */
#define ALLOCS_TRAILER_SLACK_MASK ((1ull << 13) - 1)
#define ALLOCS_TRAILER_SLACK_UNKNOWN ALLOCS_TRAILER_SLACK_MASK /* requested = usable - 8 */

struct allocs_site {
    uint64_t pc;   /* return address of the allocating call (the call is the byte before) */
    uint64_t type; /* address of the site's struct uniqtype once metadata is loaded, else 0 */
};

struct allocs_large_chunk {
    uint64_t base;
    uint64_t usable; /* underlying usable size (the trailer is at base + usable - 8) */
};

/* ---- Big allocations: mappings and the levels above leaf objects ---- */
enum allocs_big_kind {
    ALLOCS_BIG_FREE = 0,    /* an unused slot */
    ALLOCS_BIG_MAPPING = 1, /* a mapping seen in /proc/self/maps or made by mmap */
    ALLOCS_BIG_ELF_FILE,    /* a loaded ELF object's extent; object = its index */
    ALLOCS_BIG_ELF_SEGMENT, /* one PT_LOAD segment; object = its index */
    ALLOCS_BIG_BRK,         /* the brk heap */
    ALLOCS_BIG_STACK,       /* a thread's stack */
    ALLOCS_BIG_AUXV         /* argc, argv, envp, auxv and their strings */
};
#define ALLOCS_BIG_F_USER_MMAP 0x1u /* made by the program's own mmap call; site = caller */
#define ALLOCS_BIG_F_FILE 0x2u      /* file-backed */
#define ALLOCS_BIG_F_READ 0x4u
#define ALLOCS_BIG_F_WRITE 0x8u
#define ALLOCS_BIG_F_EXEC 0x10u

struct allocs_big {
    uint64_t begin, end; /* [begin, end) */
    int32_t parent;      /* index of the enclosing big allocation, -1 at the top */
    uint16_t kind;       /* enum allocs_big_kind */
    uint16_t flags;      /* ALLOCS_BIG_F_* */
    uint32_t object;     /* index into objects for ELF levels, else UINT32_MAX */
    uint32_t reserved;
    uint64_t site; /* user mmap: return address of the call, else 0 */
    uint64_t name; /* address of a NUL-terminated string (a path, "[stack]"...) or 0 */
};

/* ---- Loaded ELF objects (the executable, every DSO, dlopen'd ones) ---- */
#define ALLOCS_OBJECT_F_LIVE 0x1u
#define ALLOCS_OBJECT_F_EXECUTABLE 0x2u
#define ALLOCS_OBJECT_F_SYMBOLS 0x4u /* symbols/nsymbols are filled (built lazily) */

struct allocs_symbol {
    uint64_t addr;
    uint64_t size;
    uint32_t name; /* offset into the object's strtab */
    uint8_t kind;  /* 1 = function, 2 = variable */
    uint8_t reserved[3];
};

struct allocs_object {
    uint64_t load_bias;
    uint64_t name;   /* address of the path string */
    uint64_t lo, hi; /* extent of its PT_LOAD segments */
    uint64_t symbols;
    uint64_t strtab;
    uint32_t nsymbols;
    uint32_t flags;
    uint64_t meta; /* the object's loaded type metadata, or 0 (docs/metadata-format.md) */
    uint8_t build_id[20];
    uint32_t build_id_len;
    uint32_t reserved;
};

/* ---- Loaded type metadata (allocs_object.meta points here) ----
 * The metadata file's records, copied into the runtime's memory after validation, plus the
 * struct uniqtype built for each of its types (allocs_uniqtype.h). Type-index fields in the
 * copied records resolve through type_ptrs, which already points at the canonical instance
 * when another object defined the same type first. */
struct allocs_loaded_meta {
    uint64_t path;    /* address of the metadata file's path string */
    uint64_t strings; /* the file's string section */
    uint64_t strings_size;
    uint64_t types;     /* struct uniqtype[ntypes], this file's own instances */
    uint64_t type_ptrs; /* uint64_t[ntypes]: canonical struct uniqtype address per index */
    uint64_t ntypes;
    uint64_t members, nmembers;       /* struct uniqtype_member[] */
    uint64_t statics, nstatics;       /* struct allocs_meta_static[] */
    uint64_t frames, nframes;         /* struct allocs_meta_frame[] */
    uint64_t frame_vars, nframe_vars; /* struct allocs_meta_frame_var[] */
    uint64_t sites, nsites;           /* struct allocs_meta_site[] */
};

/* ---- Threads: stacks and per-thread heap counters ---- */
#define ALLOCS_THREAD_F_LIVE 0x1u
#define ALLOCS_THREAD_F_MAIN 0x2u
/* A thread takes sequence numbers in blocks ending at a multiple of this (seq_limit). */
#define ALLOCS_THREAD_SEQ_BLOCK 1024u

struct allocs_thread {
    uint64_t stack_lo, stack_hi;
    uint32_t tid;
    uint32_t flags;
    /* Chunks this thread allocated (tracked), written only by the owning thread, less those
     * counted by its current block of sequence numbers (the malloc path counts nothing but
     * the number it takes): the thread's count is allocs + used, where used = next_seq -
     * (seq_limit - ALLOCS_THREAD_SEQ_BLOCK) when seq_limit is not 0 and that is at most
     * ALLOCS_THREAD_SEQ_BLOCK, else 0 (a reader between the stores of a block change may see
     * a larger one; its count is then off by less than a block, for that moment only), modulo
     * 2^64. The sum over all records plus the root's retired_allocs is the total. Live chunks
     * and bytes are not counted on the malloc path (layout 3): a reader counts the index's
     * marks and sums the trailers' requested sizes; total frees = total allocations - live
     * chunks. */
    uint64_t allocs;
    uint64_t frees;               /* 0 (layout 2's counter, no longer kept) */
    uint64_t bytes_allocated;     /* 0 (idem) */
    uint64_t bytes_freed;         /* 0 (idem) */
    uint64_t next_seq, seq_limit; /* the thread's current block of sequence numbers */
};

/* ---- Pool objects registered by custom allocators ----
 * Object starts are marked in sparse bitmaps (sub_l1): one bit per 16-byte granule, 1 GiB
 * regions; sub_l1[addr >> 30] is the region's bitmap (or 0), and bit (g & 63) of 64-bit word
 * (g >> 6), with g = (addr & (1 GiB - 1)) >> 4, is set when an object starts in granule g. The
 * records are an open-addressing table keyed by base (hash: (base >> 4) *
 * ALLOCS_SUBALLOC_HASH_MULTIPLIER >> (64 - log2(capacity)), linear probing). */
#define ALLOCS_SUB_REGION_SHIFT 30u
#define ALLOCS_SUB_L1_ENTRIES (1u << (47u - ALLOCS_SUB_REGION_SHIFT))
#define ALLOCS_SUB_BITMAP_BYTES ((1ul << ALLOCS_SUB_REGION_SHIFT) >> ALLOCS_GRANULE_SHIFT >> 3)
#define ALLOCS_SUBALLOC_HASH_MULTIPLIER 0x9E3779B97F4A7C15ull
#define ALLOCS_SUBALLOC_EMPTY 0u   /* the base of a slot never used */
#define ALLOCS_SUBALLOC_DELETED 1u /* the base of a slot whose object was unregistered */

struct allocs_suballoc {
    uint64_t base;
    uint64_t size;
    uint64_t site;      /* return address of the registering call (or the site the caller gave) */
    uint32_t allocator; /* index into allocators */
    uint32_t seq;
};

struct allocs_allocator_record {
    uint64_t name; /* address of the name string */
};

/* ---- GNU obstacks (glibc's <obstack.h>) ----
 * The obstacks the program began (_obstack_begin, _obstack_begin_1), outside the root:
 * `__allocs_obstacks` is uint64_t[ALLOCS_OBSTACK_SLOTS], each the address of a struct obstack
 * or 0. Slots are claimed and cleared with atomic compare-and-swap and never locked; a slot
 * names a struct the program may since have freed or reused, so a reader validates everything
 * it reads through it: each chunk of the chain (struct obstack.chunk, then each chunk's prev)
 * must be a live malloc chunk whose requested size reaches exactly its limit (glibc asks the
 * chunk function for limit - chunk bytes), at most ALLOCS_OBSTACK_MAX_CHUNKS of them.
 * glibc's fields the readers use, x86-64 (obstack.c checks them against <obstack.h>): */
#define ALLOCS_OBSTACKS_SYMBOL "__allocs_obstacks"
#define ALLOCS_OBSTACK_SLOTS 256u
#define ALLOCS_OBSTACK_MAX_CHUNKS 4096u
#define ALLOCS_OBSTACK_OFF_CHUNK 8u        /* struct obstack: the current chunk */
#define ALLOCS_OBSTACK_OFF_OBJECT_BASE 16u /* ...the object being built */
#define ALLOCS_OBSTACK_OFF_NEXT_FREE 24u   /* ...the first byte not yet allocated */
#define ALLOCS_OBSTACK_OFF_CHUNK_LIMIT 32u /* ...the current chunk's limit */
#define ALLOCS_OBCHUNK_OFF_LIMIT 0u        /* struct _obstack_chunk: one past its end */
#define ALLOCS_OBCHUNK_OFF_PREV 8u         /* ...the chunk before it, or 0 */
#define ALLOCS_OBCHUNK_OFF_CONTENTS 16u    /* ...where its objects begin */

#define ALLOCS_ROOT_F_INITIALISED 0x1u
#define ALLOCS_ROOT_F_GLIBC_MALLOC 0x2u /* chunk headers are glibc's (see the trailer note) */

struct allocs_root {
    char magic[8];
    uint32_t version;
    uint32_t root_size;
    uint32_t flags;
    uint32_t pid;

    /* heap chunks */
    uint64_t chunk_l1;     /* uint64_t[ALLOCS_CHUNK_L1_ENTRIES]: region -> byte map */
    uint64_t large_chunks; /* struct allocs_large_chunk[], sorted by base */
    uint64_t nlarge_chunks;
    uint64_t sites;  /* struct allocs_site[sites_capacity]; index = site id */
    uint32_t nsites; /* ids 1 .. nsites - 1 are in use */
    uint32_t sites_capacity;

    /* levels */
    uint64_t bigs;  /* struct allocs_big[] */
    uint32_t nbigs; /* slots in use or freed, i.e. the high-water mark */
    uint32_t bigs_capacity;
    uint64_t objects; /* struct allocs_object[] */
    uint32_t nobjects;
    uint32_t objects_capacity;
    uint64_t threads; /* struct allocs_thread[] */
    uint32_t nthreads;
    uint32_t threads_capacity;

    /* the process's start-up area */
    uint64_t argc;
    uint64_t argv, envp, auxv; /* addresses of the three arrays */
    uint64_t auxv_lo, auxv_hi; /* the whole area: &argc .. end of the strings */
    uint64_t brk_lo, brk_hi;   /* the brk heap as last observed */

    /* pool objects */
    uint64_t sub_l1;             /* uint64_t[ALLOCS_SUB_L1_ENTRIES]: region -> bitmap */
    uint64_t suballocs;          /* struct allocs_suballoc[suballocs_capacity] */
    uint64_t suballocs_capacity; /* a power of two */
    uint64_t allocators;         /* struct allocs_allocator_record[nallocators] */
    uint32_t nallocators;        /* custom allocator i has id ALLOCS_FIRST_CUSTOM_ALLOCATOR + i */
    uint32_t reserved0;

    /* counters of threads that have exited (only retired_allocs is kept: see allocs_thread) */
    uint64_t retired_allocs, retired_frees, retired_bytes_allocated, retired_bytes_freed;
};

#ifdef __cplusplus
#define ALLOCS_STATIC_ASSERT static_assert
#else
#define ALLOCS_STATIC_ASSERT _Static_assert
#endif
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_site) == 16, "site layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_large_chunk) == 16, "large chunk layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_big) == 48, "big layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_symbol) == 24, "symbol layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_object) == 96, "object layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_thread) == 72, "thread layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_suballoc) == 32, "suballoc layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_root) == 248, "root layout");
ALLOCS_STATIC_ASSERT(sizeof(struct allocs_loaded_meta) == 128, "loaded meta layout");

#endif
