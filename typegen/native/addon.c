/* The Node-API glue of the native DIE walk (typegen/src/model/native-walk.ts is its only user):
 *
 *   openFile(sections: Uint8Array[11], typesBase, altInfoBase, hasAlt, units: Float64Array)
 *       -> a file handle (the walker keeps references to the sections; nothing is copied)
 *   newWalker(file, listStatic) -> a walker (its JS call-back: a location list's static)
 *   bind(walker, columns: TypedArray[25])   (again whenever JS replaced a column)
 *   walk(walker, unitIndex, code, state: Float64Array) -> NW_* status (state: the counters in
 *       and out, then the unit's root DIE facts out)
 *   why(walker) -> why the last walk fell back
 *   checkAbbrevs(abbrev, offset, version, addrSize, offsetSize) -> whether the table parses
 *   release(file): frees its abbrev tables once the walks are done (made again if needed)
 *
 * A JS exception in a call-back is cleared and the unit falls back: the JS walk of the unit
 * then meets it again and throws it as it always did. */
#include <malloc.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "nw.h"

#define N_SECTIONS 11
#define UNIT_STRIDE 12
#define N_COLUMNS 26
#define N_STATE 11
/* With the unit's root DIE facts after them (DieCursor.initUnit's), when the walk is done. */
#define N_STATE_ROOT 22
/* Then the statics' count, in and out. */
#define STATE_STATICS 22
#define N_STATE_ALL 23

typedef struct {
    nw_file f;
    napi_ref sections[N_SECTIONS];
} file_box;

typedef struct {
    napi_env env;
    file_box *file;
    napi_ref file_ref;
    napi_ref hooks[1];
    napi_ref columns[N_COLUMNS];
    nw_columns cols;
    nw_hooks h;
    const char *why;
    /* The walk under way: its state array and unit, and whether its root facts were written
     * there yet (before the first call back: JS decodes with the unit's bases). */
    double *state;
    size_t state_len, unit;
    int root_written;
} walker_box;

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != napi_ok) {                                                                   \
            napi_throw_error(env, NULL, "allocs native walk: " #call " failed");                   \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len)
{
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    bool is;
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
    if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
    return type == want || (want == napi_uint8_array && type == napi_uint8_clamped_array);
}

static double num(napi_env env, napi_value v)
{
    double d = 0;
    napi_get_value_double(env, v, &d);
    return d;
}

static void file_finalize(napi_env env, void *data, void *hint)
{
    (void)hint;
    file_box *fb = data;
    for (int i = 0; i < N_SECTIONS; i++)
        if (fb->sections[i]) napi_delete_reference(env, fb->sections[i]);
    nw_file_free(&fb->f);
    free(fb->f.units);
    free(fb);
}

static napi_value open_file(napi_env env, napi_callback_info info)
{
    size_t argc = 5;
    napi_value argv[5];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 5) {
        napi_throw_type_error(env, NULL, "openFile: 5 arguments");
        return NULL;
    }
    file_box *fb = calloc(1, sizeof *fb);
    if (!fb) {
        napi_throw_error(env, NULL, "openFile: out of memory");
        return NULL;
    }
    nw_sec *secs[N_SECTIONS] = {&fb->f.info,     &fb->f.types,       &fb->f.abbrev,  &fb->f.str,
                                &fb->f.line_str, &fb->f.str_offsets, &fb->f.addr,    &fb->f.loc,
                                &fb->f.loclists, &fb->f.ranges,      &fb->f.rnglists};
    for (uint32_t i = 0; i < N_SECTIONS; i++) {
        napi_value s;
        void *data;
        size_t len;
        if (napi_get_element(env, argv[0], i, &s) != napi_ok ||
            !typed(env, s, napi_uint8_array, &data, &len)) {
            file_finalize(env, fb, NULL);
            napi_throw_type_error(env, NULL, "openFile: sections must be Uint8Arrays");
            return NULL;
        }
        secs[i]->b = data;
        secs[i]->len = len;
        napi_create_reference(env, s, 1, &fb->sections[i]);
    }
    fb->f.types_base = num(env, argv[1]);
    fb->f.alt_info_base = num(env, argv[2]);
    fb->f.has_alt = num(env, argv[3]) != 0;
    double *u;
    size_t n;
    if (!typed(env, argv[4], napi_float64_array, (void **)&u, &n)) {
        file_finalize(env, fb, NULL);
        napi_throw_type_error(env, NULL, "openFile: units must be a Float64Array");
        return NULL;
    }
    fb->f.n_units = n / UNIT_STRIDE;
    fb->f.units = calloc(fb->f.n_units ? fb->f.n_units : 1, sizeof(nw_unit));
    for (size_t i = 0; i < fb->f.n_units; i++) {
        const double *r = u + i * UNIT_STRIDE;
        nw_unit *x = &fb->f.units[i];
        x->src = (int)r[0];
        x->offset = (size_t)r[1];
        x->end = (size_t)r[2];
        x->die_offset = (size_t)r[3];
        x->version = (int)r[4];
        x->addr_size = (int)r[5];
        x->offset_size = (int)r[6];
        x->abbrev_offset = (size_t)r[7];
        x->is_type_unit = r[8] != 0;
        x->signature = (uint64_t)r[9] << 32 | (uint64_t)r[10];
        x->type_offset = (size_t)r[11];
    }
    napi_value ext;
    if (napi_create_external(env, fb, file_finalize, NULL, &ext) != napi_ok) {
        file_finalize(env, fb, NULL);
        return NULL;
    }
    return ext;
}

/* Writes the unit's root DIE facts (DieCursor.initUnit's) after the counters in the state. */
static void write_root(walker_box *wb)
{
    const nw_unit *u = &wb->file->f.units[wb->unit];
    if (wb->root_written || u->init != 1 || wb->state_len < N_STATE_ROOT) return;
    double root[N_STATE_ROOT - N_STATE] = {u->root_tag,      u->str_offsets_base, u->addr_base,
                                           u->rnglists_base, u->loclists_base,    u->stmt_list,
                                           u->language,      u->low_pc,           u->name_ref,
                                           u->comp_dir_ref,  u->producer_ref};
    memcpy(wb->state + N_STATE, root, sizeof root);
    wb->root_written = 1;
}

/* Calls hook `k` with numbers. It returns null (0) or a Float64Array of two numbers (1, in
 * out[]); -1 when it threw or returned anything else. */
static int call_pair(walker_box *wb, int k, const double *args, size_t n, double out[2])
{
    napi_env env = wb->env;
    napi_value fn, recv, argv[4], result;
    write_root(wb);
    if (napi_get_reference_value(env, wb->hooks[k], &fn) != napi_ok) return -1;
    napi_get_undefined(env, &recv);
    for (size_t i = 0; i < n; i++)
        napi_create_double(env, args[i], &argv[i]);
    if (napi_call_function(env, recv, fn, n, argv, &result) != napi_ok) {
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value e;
            napi_get_and_clear_last_exception(env, &e);
        }
        return -1;
    }
    napi_valuetype t;
    napi_typeof(env, result, &t);
    if (t == napi_null) return 0;
    double *d;
    size_t len;
    if (!typed(env, result, napi_float64_array, (void **)&d, &len) || len < 2) return -1;
    out[0] = d[0];
    out[1] = d[1];
    return 1;
}

static int hook_list_static(void *ctx, double form, double start, double lo, double hi,
                            double *value)
{
    double a[4] = {form, start, lo, hi}, out[2];
    int r = call_pair(ctx, 0, a, 4, out);
    if (r <= 0) return r;
    if (out[0] != 1 && out[0] != 2) return -1;
    *value = out[1];
    return (int)out[0];
}

static void walker_finalize(napi_env env, void *data, void *hint)
{
    (void)hint;
    walker_box *wb = data;
    if (wb->hooks[0]) napi_delete_reference(env, wb->hooks[0]);
    for (int i = 0; i < N_COLUMNS; i++)
        if (wb->columns[i]) napi_delete_reference(env, wb->columns[i]);
    if (wb->file_ref) napi_delete_reference(env, wb->file_ref);
    free(wb->cols.positions[0]);
    free(wb->cols.positions[1]);
    free(wb);
}

static napi_value new_walker(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2) {
        napi_throw_type_error(env, NULL, "newWalker: 2 arguments");
        return NULL;
    }
    walker_box *wb = calloc(1, sizeof *wb);
    if (!wb) return NULL;
    CHECK(napi_get_value_external(env, argv[0], (void **)&wb->file));
    napi_create_reference(env, argv[0], 1, &wb->file_ref);
    napi_create_reference(env, argv[1], 1, &wb->hooks[0]);
    wb->h.ctx = wb;
    wb->h.list_static = hook_list_static;
    napi_value ext;
    CHECK(napi_create_external(env, wb, walker_finalize, NULL, &ext));
    return ext;
}

static napi_value bind(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    walker_box *wb;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    CHECK(napi_get_value_external(env, argv[0], (void **)&wb));
    /* Which columns are doubles (the rest are Int32Arrays). */
    static const char is_f64[N_COLUMNS] = {1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
                                           1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1};
    void *data[N_COLUMNS];
    size_t len[N_COLUMNS];
    napi_value v[N_COLUMNS];
    for (uint32_t i = 0; i < N_COLUMNS; i++) {
        if (napi_get_element(env, argv[1], i, &v[i]) != napi_ok ||
            !typed(env, v[i], is_f64[i] ? napi_float64_array : napi_int32_array, &data[i],
                   &len[i])) {
            napi_throw_type_error(env, NULL, "bind: a column of the wrong type");
            return NULL;
        }
    }
    for (int i = 0; i < N_COLUMNS; i++) {
        if (wb->columns[i]) napi_delete_reference(env, wb->columns[i]);
        napi_create_reference(env, v[i], 1, &wb->columns[i]);
    }
    nw_columns *c = &wb->cols;
    c->key = data[0];
    c->tag = data[1];
    c->name_ref = data[2];
    c->byte_size = data[3];
    c->encoding = data[4];
    c->bit_size = data[5];
    c->target = data[6];
    c->flags = data[7];
    c->head = data[8];
    c->tail = data[9];
    c->id_epoch = data[10];
    c->name_epoch = data[11];
    c->code_epoch = data[12];
    size_t rc = len[0];
    for (int i = 1; i <= 12; i++) {
        size_t l = (i == 8 || i == 9) ? len[i] / 4 : len[i];
        if (l < rc) rc = l;
    }
    c->rec_cap = rc;
    c->item_name_ref = data[13];
    c->item_a = data[14];
    c->item_offset = data[15];
    c->item_bit_size = data[16];
    c->item_bit_offset = data[17];
    c->item_next = data[18];
    size_t ic = len[13];
    for (int i = 14; i <= 18; i++)
        if (len[i] < ic) ic = len[i];
    c->item_cap = ic;
    c->slots = data[19];
    c->slots_len = len[19];
    c->fcols = data[20];
    c->f_cap = len[20];
    c->lcols = data[21];
    c->l_cap = len[21];
    c->cd_keys = data[22];
    c->cd_depths = data[23];
    c->cd_cap = len[22] < len[23] ? len[22] : len[23];
    c->scopes = data[24];
    c->scopes_cap = len[24];
    c->scols = data[25];
    c->s_cap = len[25];
    return NULL;
}

static napi_value walk(napi_env env, napi_callback_info info)
{
    size_t argc = 4;
    napi_value argv[4];
    walker_box *wb;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    CHECK(napi_get_value_external(env, argv[0], (void **)&wb));
    double *s;
    size_t n;
    if (!typed(env, argv[3], napi_float64_array, (void **)&s, &n) || n < N_STATE_ALL) {
        napi_throw_type_error(env, NULL, "walk: state must be a Float64Array");
        return NULL;
    }
    if (!wb->cols.key) {
        napi_throw_error(env, NULL, "walk: columns not bound");
        return NULL;
    }
    nw_state st = {.n = (size_t)s[0],
                   .items = (size_t)s[1],
                   .fns = (size_t)s[2],
                   .locals = (size_t)s[3],
                   .cd_len = (size_t)s[4],
                   .n_scopes = (size_t)s[5],
                   .synth = s[6],
                   .loc_is_block = s[7],
                   .loc_form = s[8],
                   .loc_start = s[9],
                   .loc_end = s[10],
                   .statics = (size_t)s[STATE_STATICS]};
    double ui = num(env, argv[1]);
    if (!(ui >= 0 && ui < (double)wb->file->f.n_units)) {
        napi_throw_range_error(env, NULL, "walk: no such unit");
        return NULL;
    }
    wb->env = env;
    wb->why = NULL;
    wb->state = s;
    wb->state_len = n;
    wb->unit = (size_t)ui;
    wb->root_written = 0;
    int rc = nw_walk_unit(&wb->file->f, wb->unit, num(env, argv[2]) != 0, &wb->cols, &wb->h, &st,
                          &wb->why);
    s[0] = (double)st.n;
    s[1] = (double)st.items;
    s[2] = (double)st.fns;
    s[3] = (double)st.locals;
    s[4] = (double)st.cd_len;
    s[5] = (double)st.n_scopes;
    s[6] = st.synth;
    s[7] = st.loc_is_block;
    s[8] = st.loc_form;
    s[9] = st.loc_start;
    s[10] = st.loc_end;
    s[STATE_STATICS] = (double)st.statics;
    if (rc == NW_OK) write_root(wb);
    napi_value r;
    napi_create_int32(env, rc, &r);
    return r;
}

/* release(file): frees the file's abbrev tables (parsed again if a walk needs them). */
static napi_value release(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    file_box *fb;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    CHECK(napi_get_value_external(env, argv[0], (void **)&fb));
    nw_file_free(&fb->f);
    /* Thousands of small tables: give their pages back now (else the heap keeps them). */
    malloc_trim(0);
    return NULL;
}

/* checkAbbrevs(abbrev: Uint8Array, offset, version, addrSize, offsetSize) -> boolean. */
static napi_value check_abbrevs(napi_env env, napi_callback_info info)
{
    size_t argc = 5;
    napi_value argv[5], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    nw_sec sec;
    void *data;
    if (argc < 5 || !typed(env, argv[0], napi_uint8_array, &data, &sec.len)) {
        napi_throw_type_error(env, NULL, "checkAbbrevs: (Uint8Array, offset, version, sizes)");
        return NULL;
    }
    sec.b = data;
    int ok = nw_abbrevs_check(&sec, num(env, argv[1]), (int)num(env, argv[2]),
                              (int)num(env, argv[3]), (int)num(env, argv[4]));
    napi_get_boolean(env, ok, &r);
    return r;
}

static napi_value why(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], r;
    walker_box *wb;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    CHECK(napi_get_value_external(env, argv[0], (void **)&wb));
    napi_create_string_utf8(env, wb->why ? wb->why : "", NAPI_AUTO_LENGTH, &r);
    return r;
}

static napi_value init(napi_env env, napi_value exports)
{
    napi_property_descriptor props[] = {
        {"openFile", NULL, open_file, NULL, NULL, NULL, napi_default, NULL},
        {"newWalker", NULL, new_walker, NULL, NULL, NULL, napi_default, NULL},
        {"bind", NULL, bind, NULL, NULL, NULL, napi_default, NULL},
        {"walk", NULL, walk, NULL, NULL, NULL, napi_default, NULL},
        {"why", NULL, why, NULL, NULL, NULL, napi_default, NULL},
        {"checkAbbrevs", NULL, check_abbrevs, NULL, NULL, NULL, napi_default, NULL},
        {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
    };
    napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
