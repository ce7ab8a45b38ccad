/* The DIE walk of one unit: typegen/src/model/collect.ts (types, members, enumerators, array
 * bounds, parameters, C++ scopes) and collect-code.ts (functions, their frame bases, parameters
 * and locals, statics), statement for statement, writing the JS tables' columns. Decoding a
 * location list stays in JS, called through nw_hooks. */
#include <math.h>
#include <string.h>

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

/* The type tags of collect.ts's TYPE_TAG_LIST (all below 0x50). */
static const uint8_t IS_TYPE_TAG[0x50] = {
    [0x24] = 1, [0x0f] = 1, [0x10] = 1, [0x42] = 1, [0x01] = 1, [0x13] = 1, [0x02] = 1,
    [0x17] = 1, [0x04] = 1, [0x16] = 1, [0x15] = 1, [0x26] = 1, [0x35] = 1, [0x37] = 1,
    [0x47] = 1, [0x3b] = 1, [0x4b] = 1, [0x2d] = 1, [0x40] = 1,
};

static int is_scope_tag(double tag)
{
    return tag == T_CLASS || tag == T_STRUCTURE || tag == T_UNION || tag == T_ENUMERATION;
}

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

static _Noreturn void need_room(walker *w, int code)
{
    w->room = code;
    nw_fail(&w->trap, "room");
}

/* RawTable.add. */
static size_t add_record(walker *w, double key, int tag)
{
    nw_columns *c = w->cols;
    size_t r = w->st->n;
    if (r >= c->rec_cap) need_room(w, NW_ROOM_RECORDS);
    w->st->n = r + 1;
    if (key >= w->key_start && key < w->key_end) {
        size_t s = (size_t)(key - w->key_start);
        if (s >= c->slots_len) nw_fail(&w->trap, "slots too short");
        c->slots[s] = (int32_t)r + 1;
    }
    c->key[r] = key;
    c->tag[r] = tag;
    c->name_ref[r] = NW_NO_STR;
    c->byte_size[r] = NAN;
    c->encoding[r] = NAN;
    c->bit_size[r] = NAN;
    c->target[r] = -1;
    c->flags[r] = 0;
    c->head[r * 4] = c->head[r * 4 + 1] = c->head[r * 4 + 2] = c->head[r * 4 + 3] = -1;
    c->id_epoch[r] = c->name_epoch[r] = c->code_epoch[r] = 0;
    return r;
}

/* RawTable.addItem. */
static size_t add_item(walker *w, size_t r, int kind)
{
    nw_columns *c = w->cols;
    size_t i = w->st->items;
    if (i >= c->item_cap) need_room(w, NW_ROOM_ITEMS);
    w->st->items = i + 1;
    c->item_name_ref[i] = NW_NO_STR;
    c->item_a[i] = NAN;
    c->item_offset[i] = 0;
    c->item_bit_size[i] = NAN;
    c->item_bit_offset[i] = NAN;
    c->item_next[i] = -1;
    size_t h = r * 4 + (size_t)kind;
    if (c->head[h] < 0)
        c->head[h] = (int32_t)i;
    else
        c->item_next[c->tail[h]] = (int32_t)i;
    c->tail[h] = (int32_t)i;
    return i;
}

/* Fails (as the JS str() would throw) unless reference `ref` names a readable string. */
static void check_str(walker *w, double ref)
{
    const nw_sec *s;
    double off;
    if (ref >= 0 && ref < NW_LINE_STR) {
        s = &w->f->str;
        off = ref;
    } else if (ref >= NW_LINE_STR && ref < NW_ALT_STR) {
        s = &w->f->line_str;
        off = ref - NW_LINE_STR;
    } else if (ref >= NW_ALT_STR)
        nw_fail(&w->trap, "alt-file string");
    else
        return; /* an inline string (its terminator checked) or none */
    if (!(off < (double)s->len) || !memchr(s->b + (size_t)off, 0, s->len - (size_t)off))
        nw_fail(&w->trap, "bad string offset");
}

/* ---- collect-code.ts ---- */

static void origin(walker *w, int full)
{
    nw_cur *cur = &w->cur, *aux = &w->aux;
    w->o_name = nw_cur_str_ref(cur, A_NAME);
    w->o_linkage = full ? nw_cur_str_ref(cur, A_LINKAGE_NAME) : NW_NO_STR;
    w->o_type = nw_cur_ref(cur, A_TYPE);
    w->o_external = full && nw_cur_flag(cur, A_EXTERNAL);
    w->o_declaration = full && nw_cur_flag(cur, A_DECLARATION);
    double next = nw_cur_ref(cur, A_ABSTRACT_ORIGIN);
    if (next < 0) next = nw_cur_ref(cur, A_SPECIFICATION);
    for (int i = 0; i < 8 && next >= 0; i++) {
        if (!nw_seek(aux, next)) break;
        if (w->o_name == NW_NO_STR) w->o_name = nw_cur_str_ref(aux, A_NAME);
        if (full && w->o_linkage == NW_NO_STR) w->o_linkage = nw_cur_str_ref(aux, A_LINKAGE_NAME);
        if (w->o_type < 0) w->o_type = nw_cur_ref(aux, A_TYPE);
        if (full) w->o_external = w->o_external || nw_cur_flag(aux, A_EXTERNAL);
        double n = nw_cur_ref(aux, A_ABSTRACT_ORIGIN);
        if (n < 0) n = nw_cur_ref(aux, A_SPECIFICATION);
        next = n;
    }
}

static int prototyped(walker *w)
{
    nw_cur *cur = &w->cur, *aux = &w->aux;
    if (nw_cur_flag(cur, A_PROTOTYPED)) return 1;
    double next = nw_cur_ref(cur, A_ABSTRACT_ORIGIN);
    if (next < 0) next = nw_cur_ref(cur, A_SPECIFICATION);
    for (int i = 0; i < 8 && next >= 0; i++) {
        if (!nw_seek(aux, next)) break;
        if (nw_cur_flag(aux, A_PROTOTYPED)) return 1;
        double n = nw_cur_ref(aux, A_ABSTRACT_ORIGIN);
        if (n < 0) n = nw_cur_ref(aux, A_SPECIFICATION);
        next = n;
    }
    return 0;
}

/* CodeReader.locationAt: leaves the value's place in the loc_* state. */
static int location_at(walker *w, int at)
{
    nw_cur *cur = &w->cur;
    nw_state *st = w->st;
    int form = nw_cur_form(cur, at);
    if (form == 0) return 0;
    st->loc_form = form;
    if (nw_cur_block(cur, at)) {
        st->loc_is_block = 1;
        st->loc_start = (double)cur->block_start;
        st->loc_end = (double)cur->block_end;
        return 1;
    }
    if (!(form == 0x17 || form == 0x22 || form == 0x06 || form == 0x07)) return 0;
    st->loc_is_block = 0;
    double v;
    st->loc_start = nw_cur_udata(cur, at, &v) ? v : 0;
    st->loc_end = 0;
    return 1;
}

static void read_function(walker *w, func_ctx *out)
{
    nw_cur *cur = &w->cur;
    nw_state *st = w->st;
    origin(w, 1);
    double name_ref = w->o_name != NW_NO_STR      ? w->o_name
                      : w->o_linkage != NW_NO_STR ? w->o_linkage
                                                  : NW_EMPTY_STR;
    double lo = 0, hi = 0;
    int has_lo = nw_cur_addr(cur, A_LOW_PC, &lo);
    int has_hi = has_lo ? nw_cur_high_pc(cur, lo, &hi) : 0;
    if (!has_lo && nw_cur_find(cur, A_RANGES) >= 0) {
        double form = nw_cur_form(cur, A_RANGES), v;
        if (!nw_cur_udata(cur, A_RANGES, &v)) v = 0;
        if (nw_ranges_span(w->f, w->u, (int)form, v, &lo, &hi, &w->trap)) has_lo = has_hi = 1;
    }
    int discarded = has_lo && (w->u->addr_size == 8 ? lo == NW_TWO64
                                                    : lo == 4294967295.0 || lo == 4294967294.0);
    out->fn_name = name_ref;
    if (!has_lo || !has_hi || w->o_declaration || discarded) {
        out->fn = out->fn_type = -1;
        out->lo = out->hi = 0;
        return;
    }
    if (!(hi <= NW_TWO64)) nw_fail(&w->trap, "function range beyond 2^64");
    double fn_key = st->synth++;
    nw_columns *c = w->cols;
    size_t fr = st->fns;
    if ((fr + 1) * F_COLS > c->f_cap) need_room(w, NW_ROOM_FNS);
    st->fns = fr + 1;
    double *f = c->fcols + fr * F_COLS;
    f[0] = name_ref;
    f[1] = w->o_linkage;
    f[2] = fn_key;
    f[3] = lo;
    f[4] = hi;
    f[5] = w->o_external ? 1 : 0;
    f[6] = LOC_NONE;
    int proto = prototyped(w);
    size_t fn_type = add_record(w, fn_key, T_SUBROUTINE_TYPE);
    c->target[fn_type] = w->o_type;
    c->flags[fn_type] = F_HAS_PROTOTYPED | (proto ? F_PROTOTYPED : 0);
    if (location_at(w, A_FRAME_BASE)) {
        f[6] = st->loc_is_block ? LOC_BLOCK : LOC_LIST;
        f[7] = st->loc_form;
        f[8] = st->loc_start;
        f[9] = st->loc_end;
    }
    out->fn = (double)fr;
    out->fn_type = (double)fn_type;
    out->lo = lo;
    out->hi = hi;
}

/* FrameTable.addStatic. */
static void add_static(walker *w, double name, double type, double addr, int external, int tls,
                       int has_scope, double scope)
{
    nw_columns *c = w->cols;
    size_t i = w->st->statics;
    if ((i + 1) * S_COLS > c->s_cap) need_room(w, NW_ROOM_STATICS);
    w->st->statics = i + 1;
    double *s = c->scols + i * S_COLS;
    s[0] = name;
    s[1] = type;
    s[2] = addr;
    s[3] = external ? 1 : 0;
    s[4] = tls ? 1 : 0;
    s[5] = has_scope ? 1 : 0;
    s[6] = scope;
}

/* expr.ts exprShape + classifyExpr on the block [start, end), as far as a static needs: 1 an
 * address, 2 a TLS offset (in *value), 0 any other shape. Every operand the JS reads is read
 * (bounded by the block), so a malformed one fails here as it throws there. */
static int block_static(walker *w, size_t start, size_t end, double *value)
{
    const uint8_t *b = w->cur.b;
    nw_trap *t = &w->trap;
    if (end <= start) return 0;
    unsigned op = b[start];
    size_t p = start + 1;
    if ((op >= 0x50 && op <= 0x6f) || op == 0x9c) return 0; /* regN, call_frame_cfa */
    if (op == 0x91 || (op >= 0x70 && op <= 0x8f)) {         /* fbreg, bregN */
        rd_sleb(b, &p, end, t);
        return 0;
    }
    if (op == 0x92) { /* bregx */
        rd_uleb(b, &p, end, t);
        rd_sleb(b, &p, end, t);
        return 0;
    }
    if (op == 0x90) { /* regx */
        rd_uleb(b, &p, end, t);
        return 0;
    }
    if (op == 0x03) { /* addr */
        double a = rd_fixed(b, &p, end, w->u->addr_size, t);
        if (p != end) return 0;
        *value = a;
        return 1;
    }
    if (op == 0xa1 || op == 0xfb) { /* addrx, GNU_addr_index */
        double a = nw_addr_index(w->f, w->u, rd_uleb(b, &p, end, t), t);
        if (p != end) return 0;
        *value = a;
        return 1;
    }
    if (op == 0x0c || op == 0x0e) { /* const4u / const8u, then a TLS operation */
        if (end - start < 2) return 0;
        double off = rd_fixed(b, &p, end, op == 0x0e ? 8 : 4, t);
        if (p == end - 1 && (b[p] == 0xe0 || b[p] == 0x9b)) {
            *value = off;
            return 2;
        }
        return 0;
    }
    return 0;
}

/* The static the current location attribute (loc_* state) gives, as pushStatic takes it from
 * decodeLocation: 1 an address, 2 a TLS offset, 0 none (a list's ranges are decoded in JS). */
static int static_location(walker *w, double lo, double hi, double *value)
{
    nw_state *st = w->st;
    if (st->loc_is_block) return block_static(w, (size_t)st->loc_start, (size_t)st->loc_end, value);
    int r = w->hooks->list_static(w->hooks->ctx, st->loc_form, st->loc_start, lo, hi, value);
    if (r < 0) nw_fail(&w->trap, "location list (JS threw)");
    return r;
}

static void read_local(walker *w, const func_ctx *ctx, int is_param)
{
    nw_cur *cur = &w->cur;
    nw_state *st = w->st;
    if (ctx->fn < 0) {
        if (is_param) return;
        int f = nw_cur_form(cur, A_LOCATION);
        if (f != 0x18 && f != 0x0a && f != 0x09) return;
    }
    origin(w, 0);
    double name = w->o_name, type = w->o_type;
    int has = location_at(w, A_LOCATION);
    /* lazy-locations.ts mayBeStatic: only a location whose first operation can give an address
     * is decoded (a block here, a list in JS). */
    if (!is_param && has) {
        int op;
        if (st->loc_is_block) {
            size_t s = (size_t)st->loc_start, e = (size_t)st->loc_end;
            op = e > s ? cur->b[s] : -1;
        } else
            op = nw_list_first_op(w->f, w->u, (int)st->loc_form, st->loc_start, &w->trap);
        /* DW_OP_addr, addrx, GNU_addr_index, const4u, const8u */
        if (op == 0x03 || op == 0xa1 || op == 0xfb || op == 0x0c || op == 0x0e) {
            double value;
            int kind = static_location(w, ctx->lo, ctx->hi, &value);
            if (kind > 0) {
                add_static(w, name, type, value, 0, kind == 2, 1, ctx->fn_name);
                return;
            }
        }
    }
    nw_columns *c = w->cols;
    if (is_param && ctx->fn >= 0) c->item_a[add_item(w, (size_t)ctx->fn_type, PARAMS)] = type;
    if (ctx->fn < 0) return;
    size_t i = st->locals;
    if ((i + 1) * LS_COLS > c->l_cap) need_room(w, NW_ROOM_LOCALS);
    st->locals = i + 1;
    double *l = c->lcols + i * LS_COLS;
    l[0] = ctx->fn;
    l[1] = is_param ? 1 : 0;
    l[2] = name;
    l[3] = type;
    l[4] = NW_NO_STR;
    l[5] = has ? (st->loc_is_block ? LOC_BLOCK : LOC_LIST) : LOC_NONE;
    l[6] = st->loc_form;
    l[7] = st->loc_start;
    l[8] = st->loc_end;
}

static void read_static(walker *w)
{
    if (nw_cur_find(&w->cur, A_LOCATION) < 0) return;
    origin(w, 1);
    if (!location_at(w, A_LOCATION)) return; /* no location: decodeLocation gives no range */
    double value;
    int kind = static_location(w, 0, 0, &value);
    if (kind > 0)
        add_static(w, w->o_name, w->o_type, value, w->o_external, kind == 2, 0, NW_NO_STR);
}

/* ---- collect.ts ---- */

static double size_of_type(walker *w, double key)
{
    for (int i = 0; i < 16 && key >= 0; i++) {
        if (!nw_seek(&w->aux, key)) return 0;
        double s;
        if (nw_cur_udata(&w->aux, A_BYTE_SIZE, &s)) return s;
        key = nw_cur_ref(&w->aux, A_TYPE);
    }
    return 0;
}

static size_t read_type(walker *w, int tag)
{
    nw_cur *cur = &w->cur;
    nw_columns *c = w->cols;
    double size;
    int has_size = nw_cur_udata(cur, A_BYTE_SIZE, &size);
    if (!has_size && (tag == T_POINTER || tag == T_REFERENCE || tag == T_RVALUE_REFERENCE)) {
        size = w->u->addr_size;
        has_size = 1;
    }
    double sig = nw_cur_ref(cur, A_SIGNATURE);
    size_t r = add_record(w, nw_cur_key(cur), sig >= 0 ? TAG_SIGNATURE_STUB : tag);
    c->name_ref[r] = nw_cur_str_ref(cur, A_NAME);
    if (w->scope_len > 0 && is_scope_tag(tag)) {
        size_t need = w->st->n_scopes + 2 + (size_t)w->scope_len;
        if (need > c->scopes_cap) need_room(w, NW_ROOM_SCOPES);
        double *s = c->scopes + w->st->n_scopes;
        s[0] = (double)r;
        s[1] = w->scope_len;
        memcpy(s + 2, w->scope, (size_t)w->scope_len * sizeof(double));
        w->st->n_scopes = need;
    }
    if (has_size) c->byte_size[r] = size;
    double v;
    if (tag == T_BASE_TYPE) {
        c->encoding[r] = nw_cur_udata(cur, A_ENCODING, &v) ? v : 0;
        c->bit_size[r] = nw_cur_udata(cur, A_BIT_SIZE, &v) ? v : NAN;
    }
    c->target[r] = sig >= 0 ? sig : nw_cur_ref(cur, A_TYPE);
    int flags = nw_cur_flag(cur, A_DECLARATION) ? F_DECLARATION : 0;
    if (tag == T_SUBROUTINE_TYPE && sig < 0)
        flags |= F_HAS_PROTOTYPED | (nw_cur_flag(cur, A_PROTOTYPED) ? F_PROTOTYPED : 0);
    c->flags[r] = flags;
    return r;
}

/* readBound: NAN when unbounded or dynamic. */
static double read_bound(walker *w)
{
    nw_cur *cur = &w->cur;
    double count, upper, lower;
    if (nw_cur_sdata(cur, A_COUNT, &count)) return count > 0 ? count : NAN;
    if (!nw_cur_sdata(cur, A_UPPER_BOUND, &upper)) return NAN;
    if (!nw_cur_sdata(cur, A_LOWER_BOUND, &lower)) lower = 0;
    double n = upper - lower + 1;
    return n > 0 ? n : NAN;
}

static int is_block_form(int f)
{
    return f == 0x18 || f == 0x0a || f == 0x09;
}

static int is_virtual_base(walker *w)
{
    nw_cur *cur = &w->cur;
    if (!is_block_form(nw_cur_form(cur, A_DATA_MEMBER_LOCATION))) return 0;
    if (!nw_cur_block(cur, A_DATA_MEMBER_LOCATION)) return 1;
    /* As the JS reads it: the byte at the block's start even when the block is empty. */
    return cur->block_start >= cur->buflen || cur->b[cur->block_start] != 0x23;
}

static void read_member(walker *w, size_t parent)
{
    nw_cur *cur = &w->cur;
    double name = nw_cur_str_ref(cur, A_NAME);
    double type = nw_cur_ref(cur, A_TYPE);
    double offset = 0, v;
    int f = nw_cur_form(cur, A_DATA_MEMBER_LOCATION);
    if (is_block_form(f)) {
        /* DWARF 2 style: DW_OP_plus_uconst <n> (read up to the unit's end, as the JS does). */
        if (nw_cur_block(cur, A_DATA_MEMBER_LOCATION) && cur->block_end > cur->block_start &&
            cur->b[cur->block_start] == 0x23) {
            size_t p = cur->block_start + 1;
            offset = rd_uleb(cur->b, &p, cur->end, &w->trap);
        }
    } else if (f != 0)
        offset = nw_cur_udata(cur, A_DATA_MEMBER_LOCATION, &v) ? v : 0;
    double bit_size, bit_offset = NAN;
    int has_bits = nw_cur_udata(cur, A_BIT_SIZE, &bit_size);
    if (has_bits) {
        double dbo;
        if (nw_cur_udata(cur, A_DATA_BIT_OFFSET, &dbo))
            bit_offset = dbo;
        else {
            double bo, storage;
            if (!nw_cur_udata(cur, A_BIT_OFFSET, &bo)) bo = 0;
            if (!nw_cur_udata(cur, A_BYTE_SIZE, &storage)) storage = size_of_type(w, type);
            bit_offset = offset * 8 + storage * 8 - bo - bit_size;
        }
        offset = floor(bit_offset / 8);
    }
    if (!(offset >= 0)) nw_fail(&w->trap, "member before the start of its type");
    nw_columns *c = w->cols;
    size_t i = add_item(w, parent, MEMBERS);
    c->item_name_ref[i] = name;
    c->item_a[i] = type;
    c->item_offset[i] = offset;
    if (has_bits) {
        c->item_bit_size[i] = bit_size;
        c->item_bit_offset[i] = bit_offset;
    }
}

static void note_code_die(walker *w, double key, int depth)
{
    nw_columns *c = w->cols;
    size_t n = w->st->cd_len;
    if (n >= c->cd_cap) need_room(w, NW_ROOM_CODEDIES);
    c->cd_keys[n] = key;
    c->cd_depths[n] = depth;
    w->st->cd_len = n + 1;
}

static size_t walk_siblings(walker *w, size_t off, int depth, long type_rec, func_ctx *fc, int code)
{
    if (depth > MAX_DEPTH) nw_fail(&w->trap, "DIE tree nested too deeply");
    nw_cur *cur = &w->cur;
    nw_columns *c = w->cols;
    size_t end = w->u->end;
    while (off < end) {
        if (!nw_cur_read(cur, off)) return cur->next;
        double tagd = cur->tag;
        int tag = tagd < 0x10000000 ? (int)tagd : -1; /* a huge tag is no tag the walk knows */
        int has_children = cur->has_children;
        long child_rec = -1;
        func_ctx child_fn_store, *child_fn = NULL;
        int skip_kids = 0;
        if (code && (tag == T_CALL_SITE || tag == T_GNU_CALL_SITE ||
                     (tag == T_INLINED_SUBROUTINE && has_children) ||
                     (tag == T_SUBPROGRAM && nw_cur_find(cur, A_RANGES) >= 0)))
            note_code_die(w, nw_cur_key(cur), depth);
        double v;
        if (tag >= 0 && tag < 0x50 && IS_TYPE_TAG[tag])
            child_rec = (long)read_type(w, tag);
        else
            switch (tag) {
            case T_MEMBER:
                if (type_rec >= 0) read_member(w, (size_t)type_rec);
                break;
            case T_INHERITANCE:
                if (type_rec >= 0 && !is_virtual_base(w)) read_member(w, (size_t)type_rec);
                break;
            case T_ENUMERATOR:
                if (type_rec >= 0) {
                    size_t i = add_item(w, (size_t)type_rec, ENUMERATORS);
                    double name = nw_cur_str_ref(cur, A_NAME);
                    c->item_name_ref[i] = name == NW_NO_STR ? NW_EMPTY_STR : name;
                    c->item_a[i] = nw_cur_sdata(cur, A_CONST_VALUE, &v) ? v : 0;
                }
                break;
            case T_SUBRANGE:
            case T_GENERIC_SUBRANGE:
                if (type_rec >= 0) {
                    double n = read_bound(w);
                    c->item_a[add_item(w, (size_t)type_rec, DIMS)] = n;
                }
                break;
            case T_FORMAL_PARAMETER:
                if (type_rec >= 0) {
                    double ty = nw_cur_ref(cur, A_TYPE);
                    c->item_a[add_item(w, (size_t)type_rec, PARAMS)] = ty;
                } else if (fc && fc->fn >= 0)
                    read_local(w, fc, 1);
                break;
            case T_UNSPECIFIED_PARAMETERS:
                if (type_rec >= 0)
                    c->flags[type_rec] |= F_VARARGS;
                else if (fc && fc->fn >= 0)
                    c->flags[(size_t)fc->fn_type] |= F_VARARGS;
                break;
            case T_VARIABLE:
                if (fc)
                    read_local(w, fc, 0);
                else
                    read_static(w);
                break;
            case T_SUBPROGRAM:
                read_function(w, &child_fn_store);
                child_fn = &child_fn_store;
                break;
            case T_LEXICAL_BLOCK:
                child_fn = fc;
                break;
            case T_INLINED_SUBROUTINE:
            case T_CALL_SITE:
            case T_GNU_CALL_SITE:
                skip_kids = 1; /* inlined locals live in the caller's frame under other names */
                break;
            }
        if (has_children) {
            /* C++: the names of enclosing namespaces and classes qualify the aggregates inside. */
            int scoped = 0;
            if (w->cxx && (tag == T_NAMESPACE || (child_rec >= 0 && is_scope_tag(tag)))) {
                double ref = nw_cur_str_ref(cur, A_NAME);
                check_str(w, ref);
                if (ref == NW_NO_STR && tag == T_NAMESPACE) ref = NW_ANON_NAMESPACE;
                if (ref != NW_NO_STR) {
                    if (w->scope_len >= MAX_SCOPE) nw_fail(&w->trap, "scope too deep");
                    w->scope[w->scope_len++] = ref;
                    scoped = 1;
                }
            }
            if (skip_kids)
                off = nw_cur_skip_children(cur);
            else {
                int child_code = code && (tag == T_SUBPROGRAM || tag == T_LEXICAL_BLOCK);
                off = walk_siblings(w, cur->next, depth + 1, child_rec, child_fn, child_code);
            }
            if (scoped) w->scope_len--;
        } else
            off = cur->next;
    }
    return off;
}

/* Hands the cursors' position buffers back to the caller for the next walk. */
static void keep_positions(walker *w)
{
    w->cols->positions[0] = w->cur.positions;
    w->cols->n_positions[0] = w->cur.n_positions;
    w->cols->positions[1] = w->aux.positions;
    w->cols->n_positions[1] = w->aux.n_positions;
}

int nw_walk_unit(nw_file *f, size_t ui, int code, nw_columns *cols, nw_hooks *hooks, nw_state *st,
                 const char **why)
{
    walker w;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.cols = cols;
    w.hooks = hooks;
    w.st = st;
    w.cur.f = w.aux.f = f;
    w.cur.t = w.aux.t = &w.trap;
    w.cur.positions = cols->positions[0];
    w.cur.n_positions = cols->n_positions[0];
    w.aux.positions = cols->positions[1];
    w.aux.n_positions = cols->n_positions[1];
    if (setjmp(w.trap.jb)) {
        *why = w.trap.why;
        keep_positions(&w);
        return w.room ? w.room : NW_FALLBACK;
    }
    if (ui >= f->n_units) nw_fail(&w.trap, "no such unit");
    nw_unit *u = w.u = &f->units[ui];
    nw_cur_set_unit(&w.cur, u);
    double base = nw_unit_base(f, u);
    w.key_start = base + (double)u->offset;
    w.key_end = base + (double)u->end;
    if (u->die_offset >= u->end) goto done;
    if (!nw_cur_read(&w.cur, u->die_offset)) goto done;
    double lang = u->language;
    w.cxx = lang == 0x4 || lang == 0x19 || lang == 0x1a || lang == 0x21;
    if (w.cur.has_children) walk_siblings(&w, w.cur.next, 1, -1, NULL, code && !u->is_type_unit);
done:
    keep_positions(&w);
    return NW_OK;
}
