/* The code side of the DIE walk (collect-code.ts, statement for statement): a subprogram's
 * name, range, synthesised function type and frame base, its parameters and locals (frame
 * rows), and statics, file-scope or function-scope. A location list that may be a static's is
 * decoded in JS, through nw_hooks. */
#include "walk.h"

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

void nw_read_function(walker *w, func_ctx *out)
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
    if ((fr + 1) * F_COLS > c->f_cap) nw_need_room(w, NW_ROOM_FNS);
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
    size_t fn_type = nw_add_record(w, fn_key, T_SUBROUTINE_TYPE);
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
    if ((i + 1) * S_COLS > c->s_cap) nw_need_room(w, NW_ROOM_STATICS);
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

void nw_read_local(walker *w, const func_ctx *ctx, int is_param)
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
    if (is_param && ctx->fn >= 0) c->item_a[nw_add_item(w, (size_t)ctx->fn_type, PARAMS)] = type;
    if (ctx->fn < 0) return;
    size_t i = st->locals;
    if ((i + 1) * LS_COLS > c->l_cap) nw_need_room(w, NW_ROOM_LOCALS);
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

void nw_read_static(walker *w)
{
    if (nw_cur_find(&w->cur, A_LOCATION) < 0) return;
    origin(w, 1);
    if (!location_at(w, A_LOCATION)) return; /* no location: decodeLocation gives no range */
    double value;
    int kind = static_location(w, 0, 0, &value);
    if (kind > 0)
        add_static(w, w->o_name, w->o_type, value, w->o_external, kind == 2, 0, NW_NO_STR);
}
