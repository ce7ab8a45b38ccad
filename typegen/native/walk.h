/* The walker's own declarations, shared by walk.c (collect.ts's part: types, members, scopes,
 * the walk itself) and walk-code.c (collect-code.ts's part: functions, locals, statics). */
#ifndef NW_WALK_H
#define NW_WALK_H

#include "bytes.h"

#define MAX_DEPTH 256
#define MAX_SCOPE (MAX_DEPTH + 2)

/* Item list kinds and record flags (raw-table.ts). */
#define MEMBERS 0
#define ENUMERATORS 1
#define DIMS 2
#define PARAMS 3
#define F_DECLARATION 1
#define F_VARARGS 2
#define F_HAS_PROTOTYPED 4
#define F_PROTOTYPED 8
#define TAG_SIGNATURE_STUB 0x10000

/* FrameTable columns (frame-table.ts) and LocalStore columns (lazy-locations.ts). */
#define F_COLS 10
#define LS_COLS 9
#define S_COLS 7
#define LOC_NONE 0
#define LOC_BLOCK 1
#define LOC_LIST 2

/* DW_TAG values the walk looks at. */
enum {
    T_ARRAY = 0x01,
    T_CLASS = 0x02,
    T_ENUMERATION = 0x04,
    T_FORMAL_PARAMETER = 0x05,
    T_LEXICAL_BLOCK = 0x0b,
    T_MEMBER = 0x0d,
    T_POINTER = 0x0f,
    T_REFERENCE = 0x10,
    T_STRUCTURE = 0x13,
    T_SUBROUTINE_TYPE = 0x15,
    T_TYPEDEF = 0x16,
    T_UNION = 0x17,
    T_UNSPECIFIED_PARAMETERS = 0x18,
    T_INHERITANCE = 0x1c,
    T_INLINED_SUBROUTINE = 0x1d,
    T_SUBRANGE = 0x21,
    T_BASE_TYPE = 0x24,
    T_ENUMERATOR = 0x28,
    T_SUBPROGRAM = 0x2e,
    T_VARIABLE = 0x34,
    T_NAMESPACE = 0x39,
    T_RVALUE_REFERENCE = 0x42,
    T_GENERIC_SUBRANGE = 0x45,
    T_CALL_SITE = 0x48,
    T_GNU_CALL_SITE = 0x4109,
};

/* DW_AT values. */
enum {
    A_SIBLING = 0x01,
    A_LOCATION = 0x02,
    A_NAME = 0x03,
    A_BYTE_SIZE = 0x0b,
    A_BIT_OFFSET = 0x0c,
    A_BIT_SIZE = 0x0d,
    A_CONST_VALUE = 0x1c,
    A_LOWER_BOUND = 0x22,
    A_PROTOTYPED = 0x27,
    A_UPPER_BOUND = 0x2f,
    A_ABSTRACT_ORIGIN = 0x31,
    A_COUNT = 0x37,
    A_DATA_MEMBER_LOCATION = 0x38,
    A_DECLARATION = 0x3c,
    A_ENCODING = 0x3e,
    A_EXTERNAL = 0x3f,
    A_FRAME_BASE = 0x40,
    A_SPECIFICATION = 0x47,
    A_TYPE = 0x49,
    A_LOW_PC = 0x11,
    A_RANGES = 0x55,
    A_SIGNATURE = 0x69,
    A_DATA_BIT_OFFSET = 0x6b,
    A_LINKAGE_NAME = 0x6e,
};

/* collect-code.ts FuncCtx. */
typedef struct {
    double fn, fn_type, fn_name, lo, hi;
} func_ctx;

typedef struct {
    nw_file *f;
    nw_unit *u;
    nw_columns *cols;
    nw_hooks *hooks;
    nw_state *st;
    nw_cur cur, aux;
    nw_trap trap;
    int room; /* an NW_ROOM_* code when the trap was sprung for room */
    int cxx;
    double key_start, key_end;
    /* The C++ scope stack as string references (NW_ANON_NAMESPACE for an unnamed namespace). */
    double scope[MAX_SCOPE];
    int scope_len;
    /* What `origin` found. */
    double o_name, o_linkage, o_type;
    int o_external, o_declaration;
} walker;

/* walk.c: the tables' columns (RawTable.add, addItem). */
_Noreturn void nw_need_room(walker *w, int code);
size_t nw_add_record(walker *w, double key, int tag);
size_t nw_add_item(walker *w, size_t r, int kind);

/* walk-code.c: CodeReader.readFunction, readLocal, readStatic. */
void nw_read_function(walker *w, func_ctx *out);
void nw_read_local(walker *w, const func_ctx *ctx, int is_param);
void nw_read_static(walker *w);

#endif
