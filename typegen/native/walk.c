/* The DIE walk of one unit: typegen/src/model/collect.ts (types, members, enumerators, array
 * bounds, parameters, C++ scopes, the walk of the tree) statement for statement, writing the JS
 * tables' columns; functions, locals and statics are walk-code.c's (collect-code.ts). */
#include <math.h>
#include <string.h>

#include "walk.h"

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

_Noreturn void nw_need_room(walker *w, int code)
{
    w->room = code;
    nw_fail(&w->trap, "room");
}

/* RawTable.add. */
size_t nw_add_record(walker *w, double key, int tag)
{
    nw_columns *c = w->cols;
    size_t r = w->st->n;
    if (r >= c->rec_cap) nw_need_room(w, NW_ROOM_RECORDS);
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
size_t nw_add_item(walker *w, size_t r, int kind)
{
    nw_columns *c = w->cols;
    size_t i = w->st->items;
    if (i >= c->item_cap) nw_need_room(w, NW_ROOM_ITEMS);
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
    size_t r = nw_add_record(w, nw_cur_key(cur), sig >= 0 ? TAG_SIGNATURE_STUB : tag);
    c->name_ref[r] = nw_cur_str_ref(cur, A_NAME);
    if (w->scope_len > 0 && is_scope_tag(tag)) {
        size_t need = w->st->n_scopes + 2 + (size_t)w->scope_len;
        if (need > c->scopes_cap) nw_need_room(w, NW_ROOM_SCOPES);
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
    size_t i = nw_add_item(w, parent, MEMBERS);
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
    if (n >= c->cd_cap) nw_need_room(w, NW_ROOM_CODEDIES);
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
                    size_t i = nw_add_item(w, (size_t)type_rec, ENUMERATORS);
                    double name = nw_cur_str_ref(cur, A_NAME);
                    c->item_name_ref[i] = name == NW_NO_STR ? NW_EMPTY_STR : name;
                    c->item_a[i] = nw_cur_sdata(cur, A_CONST_VALUE, &v) ? v : 0;
                }
                break;
            case T_SUBRANGE:
            case T_GENERIC_SUBRANGE:
                if (type_rec >= 0) {
                    double n = read_bound(w);
                    c->item_a[nw_add_item(w, (size_t)type_rec, DIMS)] = n;
                }
                break;
            case T_FORMAL_PARAMETER:
                if (type_rec >= 0) {
                    double ty = nw_cur_ref(cur, A_TYPE);
                    c->item_a[nw_add_item(w, (size_t)type_rec, PARAMS)] = ty;
                } else if (fc && fc->fn >= 0)
                    nw_read_local(w, fc, 1);
                break;
            case T_UNSPECIFIED_PARAMETERS:
                if (type_rec >= 0)
                    c->flags[type_rec] |= F_VARARGS;
                else if (fc && fc->fn >= 0)
                    c->flags[(size_t)fc->fn_type] |= F_VARARGS;
                break;
            case T_VARIABLE:
                if (fc)
                    nw_read_local(w, fc, 0);
                else
                    nw_read_static(w);
                break;
            case T_SUBPROGRAM:
                nw_read_function(w, &child_fn_store);
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
