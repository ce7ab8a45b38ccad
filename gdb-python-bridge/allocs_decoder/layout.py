"""The runtime's in-memory layout, version 2 (runtime/include/allocs_layout.h).

Every record is described once, in a table of (field, offset, struct code); the struct formats
and the record classes are built from these tables, and the sizes are checked against the
header's static assertions at import time. Nothing else in the decoder knows an offset.
Every constant of the runtime's headers has its twin here (or, for the metadata file's, in
meta_file.py), named as in C without the ALLOCS_ prefix: tests/test_layout.py compiles the
headers and compares them all (scripts/header-constants.py), so a constant added in C fails the
test until it is added here.
"""
from __future__ import annotations

import struct
from typing import Any, Dict, Iterator, List, NamedTuple, Sequence, Tuple

ROOT_SYMBOL = "__allocs_root"
MAGIC = b"ALLOCS\x01\x00"
LAYOUT_VERSION = 4

GRANULE_SHIFT = 4
# Heap chunk starts: one byte per granule (non-zero = a live chunk's user pointer), one byte map
# per 128 MiB region; chunk_l1[addr >> CHUNK_REGION_SHIFT] is the region's map or 0.
CHUNK_REGION_SHIFT = 27
CHUNK_REGION_MASK = (1 << CHUNK_REGION_SHIFT) - 1
CHUNK_L1_ENTRIES = 1 << (47 - CHUNK_REGION_SHIFT)
CHUNK_MAP_BYTES = (1 << CHUNK_REGION_SHIFT) >> GRANULE_SHIFT
# What the runtime writes in a start byte: 1..SIZED_MAX, a chunk without pool objects whose
# usable size is 16 * byte - 8 (glibc's header size 16 * byte); PLAIN, a chunk without pool
# objects of another size; SLOW, a large chunk or one holding pool objects.
CHUNK_MARK_SIZED_MAX = 253
CHUNK_MARK_PLAIN = 254
CHUNK_MARK_SLOW = 255
# Chunks whose extent (usable size less the trailer) is at least this are in the large-chunk table.
LARGE_CHUNK_BYTES = 32 * 1024

# Pool object starts: one bit per granule, one bitmap per 1 GiB region; sub_l1[addr >> 30].
SUB_REGION_SHIFT = 30
SUB_REGION_MASK = (1 << SUB_REGION_SHIFT) - 1
SUB_L1_ENTRIES = 1 << (47 - SUB_REGION_SHIFT)
SUB_BITMAP_BYTES = (1 << SUB_REGION_SHIFT) >> GRANULE_SHIFT >> 3

TRAILER_BYTES = 8
TRAILER_SEQ_BITS = 30
TRAILER_SEQ_MASK = (1 << TRAILER_SEQ_BITS) - 1
TRAILER_POOL_BIT = 1 << 30
TRAILER_SITE_SHIFT = 31
TRAILER_SITE_MASK = (1 << 20) - 1
TRAILER_SLACK_SHIFT = 51
TRAILER_SLACK_MASK = (1 << 13) - 1
TRAILER_SLACK_UNKNOWN = TRAILER_SLACK_MASK

# Allocator names the runtime uses (allocs.h's ALLOCS_ALLOCATOR_NAME_*); leaves first.
MALLOC = "__default_lib_malloc"
STATIC = "static"
STACKFRAME = "stackframe"
AUXV = "auxv"
ALLOCA = "alloca"
MMAP = "mmap"
BRK = "brk"
STACK = "stack"
ELF_FILE = "elf_file"
ELF_SEGMENT = "elf_segment"

BIG_FREE, BIG_MAPPING, BIG_ELF_FILE, BIG_ELF_SEGMENT, BIG_BRK, BIG_STACK, BIG_AUXV = range(7)
BIG_KIND_ALLOCATOR = {
    BIG_MAPPING: MMAP,
    BIG_ELF_FILE: ELF_FILE,
    BIG_ELF_SEGMENT: ELF_SEGMENT,
    BIG_BRK: BRK,
    BIG_STACK: STACK,
    BIG_AUXV: AUXV,
}
BIG_F_USER_MMAP, BIG_F_FILE, BIG_F_READ, BIG_F_WRITE, BIG_F_EXEC = 0x1, 0x2, 0x4, 0x8, 0x10
NO_OBJECT = 0xFFFFFFFF

OBJECT_F_LIVE, OBJECT_F_EXECUTABLE, OBJECT_F_SYMBOLS = 0x1, 0x2, 0x4
THREAD_F_LIVE, THREAD_F_MAIN = 0x1, 0x2
THREAD_SEQ_BLOCK = 1024  # a thread's block of sequence numbers ends at a multiple of it
ROOT_F_INITIALISED, ROOT_F_GLIBC_MALLOC = 0x1, 0x2
FIRST_CUSTOM_ALLOCATOR = 64
SUBALLOC_EMPTY, SUBALLOC_DELETED = 0, 1
SUBALLOC_HASH_MULTIPLIER = 0x9E3779B97F4A7C15
# GNU obstacks: the runtime's registry of struct obstack addresses and glibc's fields it reads.
OBSTACKS_SYMBOL = "__allocs_obstacks"
OBSTACK_SLOTS, OBSTACK_MAX_CHUNKS = 256, 4096
OBSTACK_OFF_CHUNK, OBSTACK_OFF_OBJECT_BASE, OBSTACK_OFF_NEXT_FREE, OBSTACK_OFF_CHUNK_LIMIT = 8, 16, 24, 32
OBCHUNK_OFF_LIMIT, OBCHUNK_OFF_PREV, OBCHUNK_OFF_CONTENTS = 0, 8, 16

FieldSpec = Tuple[str, int, str]  # name, offset, struct code

SITE: Sequence[FieldSpec] = (("pc", 0, "Q"), ("type", 8, "Q"))
LARGE_CHUNK: Sequence[FieldSpec] = (("base", 0, "Q"), ("usable", 8, "Q"))
BIG: Sequence[FieldSpec] = (
    ("begin", 0, "Q"), ("end", 8, "Q"), ("parent", 16, "i"), ("kind", 20, "H"), ("flags", 22, "H"),
    ("object", 24, "I"), ("reserved", 28, "I"), ("site", 32, "Q"), ("name", 40, "Q"),
)
SYMBOL: Sequence[FieldSpec] = (
    ("addr", 0, "Q"), ("size", 8, "Q"), ("name", 16, "I"), ("kind", 20, "B"), ("reserved", 21, "3s"),
)
OBJECT: Sequence[FieldSpec] = (
    ("load_bias", 0, "Q"), ("name", 8, "Q"), ("lo", 16, "Q"), ("hi", 24, "Q"), ("symbols", 32, "Q"),
    ("strtab", 40, "Q"), ("nsymbols", 48, "I"), ("flags", 52, "I"), ("meta", 56, "Q"),
    ("build_id", 64, "20s"), ("build_id_len", 84, "I"), ("reserved", 88, "I"),
)
THREAD: Sequence[FieldSpec] = (
    ("stack_lo", 0, "Q"), ("stack_hi", 8, "Q"), ("tid", 16, "I"), ("flags", 20, "I"),
    ("allocs", 24, "Q"), ("frees", 32, "Q"), ("bytes_allocated", 40, "Q"), ("bytes_freed", 48, "Q"),
    ("next_seq", 56, "Q"), ("seq_limit", 64, "Q"),
)
SUBALLOC: Sequence[FieldSpec] = (
    ("base", 0, "Q"), ("size", 8, "Q"), ("site", 16, "Q"), ("allocator", 24, "I"), ("seq", 28, "I"),
)
ALLOCATOR_RECORD: Sequence[FieldSpec] = (("name", 0, "Q"),)
ROOT: Sequence[FieldSpec] = (
    ("magic", 0, "8s"), ("version", 8, "I"), ("root_size", 12, "I"), ("flags", 16, "I"), ("pid", 20, "I"),
    ("chunk_l1", 24, "Q"), ("large_chunks", 32, "Q"), ("nlarge_chunks", 40, "Q"), ("sites", 48, "Q"),
    ("nsites", 56, "I"), ("sites_capacity", 60, "I"),
    ("bigs", 64, "Q"), ("nbigs", 72, "I"), ("bigs_capacity", 76, "I"),
    ("objects", 80, "Q"), ("nobjects", 88, "I"), ("objects_capacity", 92, "I"),
    ("threads", 96, "Q"), ("nthreads", 104, "I"), ("threads_capacity", 108, "I"),
    ("argc", 112, "Q"), ("argv", 120, "Q"), ("envp", 128, "Q"), ("auxv", 136, "Q"),
    ("auxv_lo", 144, "Q"), ("auxv_hi", 152, "Q"), ("brk_lo", 160, "Q"), ("brk_hi", 168, "Q"),
    ("sub_l1", 176, "Q"), ("suballocs", 184, "Q"), ("suballocs_capacity", 192, "Q"),
    ("allocators", 200, "Q"), ("nallocators", 208, "I"), ("reserved0", 212, "I"),
    ("retired_allocs", 216, "Q"), ("retired_frees", 224, "Q"),
    ("retired_bytes_allocated", 232, "Q"), ("retired_bytes_freed", 240, "Q"),
)


class RecordType:
    """A fixed-size little-endian record: one struct format built from a field table."""

    def __init__(self, name: str, fields: Sequence[FieldSpec], size: int) -> None:
        self.name = name
        self.size = size
        self.table = fields
        self.fields = [f[0] for f in fields]
        fmt = "<"
        at = 0
        for fname, offset, code in fields:
            if offset < at:
                raise AssertionError(f"{name}.{fname}: offset {offset} overlaps the previous field")
            fmt += "x" * (offset - at) + code
            at = offset + struct.calcsize("<" + code)
        if at > size:
            raise AssertionError(f"{name}: fields end at {at}, past its size {size}")
        fmt += "x" * (size - at)
        self.struct = struct.Struct(fmt)
        assert self.struct.size == size, (name, self.struct.size, size)
        self.tuple = NamedTuple(name, [(f, Any) for f in self.fields])  # type: ignore[misc]

    def unpack(self, data: bytes, offset: int = 0) -> Any:
        return self.tuple._make(self.struct.unpack_from(data, offset))

    def unpack_all(self, data: bytes, count: int) -> List[Any]:
        make = self.tuple._make
        return [make(t) for t in self.struct.iter_unpack(data[: count * self.size])]

    def iter_unpack(self, data: bytes) -> Iterator[Tuple[Any, ...]]:
        return self.struct.iter_unpack(data)

    def pack(self, **values: Any) -> bytes:
        """Builds a record (used by the tests' synthetic images)."""
        defaults: Dict[str, Any] = {f: (b"" if c.endswith("s") else 0) for f, _, c in self.table}
        defaults.update(values)
        return self.struct.pack(*(defaults[f] for f in self.fields))


def _record(name: str, fields: Sequence[FieldSpec], size: int) -> RecordType:
    return RecordType(name, fields, size)


# Sizes from the static assertions in allocs_layout.h.
SiteRec = _record("Site", SITE, 16)
LargeChunkRec = _record("LargeChunk", LARGE_CHUNK, 16)
BigRec = _record("Big", BIG, 48)
SymbolRec = _record("Symbol", SYMBOL, 24)
ObjectRec = _record("Object", OBJECT, 96)
ThreadRec = _record("Thread", THREAD, 72)
SuballocRec = _record("Suballoc", SUBALLOC, 32)
AllocatorRec = _record("AllocatorRecord", ALLOCATOR_RECORD, 8)
RootRec = _record("Root", ROOT, 248)

# ---- Run-time types (allocs_uniqtype.h) and loaded metadata (allocs_meta_format.h) ----
KIND_VOID, KIND_BASE, KIND_POINTER, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_FUNCTION, \
    KIND_FRAME = range(9)
TYPE_F_INCOMPLETE, TYPE_F_VARARGS, TYPE_F_FLEXIBLE = 0x1, 0x2, 0x4
META_NONE = 0xFFFFFFFF
SITE_ARRAY, SITE_TRAILING, SITE_GUESSED = 0x1, 0x2, 0x4
# flags bits 8-31: the argument of WRAPPER, INLINED or HEADER (docs/metadata-format.md)
SITE_WRAPPER, SITE_INLINED, SITE_HEADER = 0x8, 0x10, 0x20
SITE_SUBALLOC = 0x40  # a call of a declared suballocator: its result is a pool object of this type
SITE_LIBRARY = 0x80  # the call enters C++ standard-library code that allocated (detail: `via`)
SITE_ARG_SHIFT = 8
SITE_KNOWN_FLAGS = (SITE_ARRAY | SITE_TRAILING | SITE_GUESSED | SITE_WRAPPER | SITE_INLINED | SITE_HEADER
                    | SITE_SUBALLOC | SITE_LIBRARY)
SITE_INLINED_LINE_BITS = 20  # INLINED's argument: line | blocks to step out of << 20
STATIC_FUNCTION, STATIC_VARIABLE = 1, 2
FRAME_VAR_PARAM = 0x1

UNIQTYPE: Sequence[FieldSpec] = (
    ("name", 0, "Q"), ("c_name", 8, "Q"), ("size", 16, "Q"), ("kind", 24, "B"), ("encoding", 25, "B"),
    ("flags", 26, "H"), ("bit_size", 28, "I"), ("related", 32, "Q"), ("count", 40, "I"),
    ("reserved", 44, "I"), ("items", 48, "Q"),
)
UNIQTYPE_MEMBER: Sequence[FieldSpec] = (
    ("name", 0, "Q"), ("type", 8, "Q"), ("offset", 16, "Q"), ("bit_offset", 24, "H"), ("bit_size", 26, "H"),
    ("reserved", 28, "I"),
)
UNIQTYPE_ENUMERATOR: Sequence[FieldSpec] = (("name", 0, "Q"), ("value", 8, "q"))
LOADED_META: Sequence[FieldSpec] = (
    ("path", 0, "Q"), ("strings", 8, "Q"), ("strings_size", 16, "Q"), ("types", 24, "Q"),
    ("type_ptrs", 32, "Q"),
    ("ntypes", 40, "Q"), ("members", 48, "Q"), ("nmembers", 56, "Q"), ("statics", 64, "Q"),
    ("nstatics", 72, "Q"), ("frames", 80, "Q"), ("nframes", 88, "Q"), ("frame_vars", 96, "Q"),
    ("nframe_vars", 104, "Q"), ("sites", 112, "Q"), ("nsites", 120, "Q"),
)
META_STATIC: Sequence[FieldSpec] = (
    ("vaddr", 0, "Q"), ("size", 8, "Q"), ("name", 16, "I"), ("type", 20, "I"), ("kind", 24, "I"),
    ("reserved", 28, "I"),
)
META_FRAME: Sequence[FieldSpec] = (
    ("lo", 0, "Q"), ("hi", 8, "Q"), ("function", 16, "I"), ("type", 20, "I"), ("first_var", 24, "I"),
    ("nvars", 28, "I"),
)
META_FRAME_VAR: Sequence[FieldSpec] = (
    ("pc_lo", 0, "Q"), ("pc_hi", 8, "Q"), ("cfa_offset", 16, "q"), ("name", 24, "I"), ("type", 28, "I"),
    ("flags", 32, "I"), ("reserved", 36, "I"),
)
META_SITE: Sequence[FieldSpec] = (("vaddr", 0, "Q"), ("type", 8, "I"), ("flags", 12, "I"))

# Sizes from the static assertions in allocs_meta_format.h / allocs_layout.h (uniqtype: 56 by layout).
UniqtypeRec = _record("Uniqtype", UNIQTYPE, 56)
UniqtypeMemberRec = _record("UniqtypeMember", UNIQTYPE_MEMBER, 32)
UniqtypeEnumeratorRec = _record("UniqtypeEnumerator", UNIQTYPE_ENUMERATOR, 16)
LoadedMetaRec = _record("LoadedMeta", LOADED_META, 128)
MetaStaticRec = _record("MetaStatic", META_STATIC, 32)
MetaFrameRec = _record("MetaFrame", META_FRAME, 32)
MetaFrameVarRec = _record("MetaFrameVar", META_FRAME_VAR, 40)
MetaSiteRec = _record("MetaSite", META_SITE, 16)
