/* elf_symbols.c: an object's symbols and sections, built on the first query that lands in it
 * (start-up cost matters: the runtime is preloaded into every process). Two sources, merged:
 * .dynsym read from the loaded image (copied with lv_safe_read, so a concurrent dlclose gives
 * an error, not a fault), and .symtab plus the section headers read from the file on disk with
 * pread, every offset checked against the file's size, and the file's build-id checked
 * against the loaded image's so a rebuilt file is never misread. The result is a sorted
 * struct allocs_symbol array with its own string table, published in root.objects. */
#define _GNU_SOURCE
#include "allocators.h"
#include "meta.h"

#include <elf.h>
#include <string.h>

rt_lock_t symbols_lock = RT_LOCK_INIT;

struct cand {
    uint64_t addr, size;
    const char *name;
    uint8_t kind, global;
};
struct table { /* one symbol table's raw copy */
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *str;
    size_t strsz;
};

/* ---- .dynsym from memory ---- */
static uintptr_t fix_ptr(uint64_t v, const struct allocs_object *o)
{
    /* glibc relocates these d_ptr values in place, except where .dynamic is read-only (the
     * vDSO): accept either form, as long as it lands inside the object. */
    if (v >= o->lo && v < o->hi) return v;
    if (v + o->load_bias >= o->lo && v + o->load_bias < o->hi) return v + o->load_bias;
    return 0;
}

static size_t gnu_hash_count(uintptr_t gh)
{
    uint32_t h[4];
    if (!lv_safe_read(h, gh, sizeof h) || h[0] == 0 || h[0] > (1u << 20) || h[2] > (1u << 20))
        return 0;
    uintptr_t buckets = gh + 16 + (uintptr_t)h[2] * 8, chain = buckets + (uintptr_t)h[0] * 4;
    uint32_t maxb = 0, b[256];
    for (uint32_t i = 0; i < h[0]; i += 256) {
        uint32_t n = h[0] - i < 256 ? h[0] - i : 256;
        if (!lv_safe_read(b, buckets + (uintptr_t)i * 4, n * 4)) return 0;
        for (uint32_t k = 0; k < n; k++)
            maxb = b[k] > maxb ? b[k] : maxb;
    }
    if (maxb < h[1]) return h[1];
    for (uint32_t idx = maxb; idx < maxb + (1u << 20); idx++) {
        uint32_t c;
        if (!lv_safe_read(&c, chain + (uintptr_t)(idx - h[1]) * 4, 4)) return 0;
        if (c & 1) return idx + 1;
    }
    return 0;
}

static bool read_dynsym(const struct allocs_object *o, uintptr_t dynamic, struct table *t)
{
    uintptr_t symtab = 0, strtab = 0, gnuhash = 0, hash = 0;
    size_t strsz = 0;
    for (unsigned i = 0; dynamic && i < 1024; i++) {
        Elf64_Dyn d;
        if (!lv_safe_read(&d, dynamic + i * sizeof d, sizeof d) || d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_SYMTAB) symtab = fix_ptr(d.d_un.d_ptr, o);
        if (d.d_tag == DT_STRTAB) strtab = fix_ptr(d.d_un.d_ptr, o);
        if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
        if (d.d_tag == DT_GNU_HASH) gnuhash = fix_ptr(d.d_un.d_ptr, o);
        if (d.d_tag == DT_HASH) hash = fix_ptr(d.d_un.d_ptr, o);
    }
    if (!symtab || !strtab || !strsz || strsz > (64u << 20)) return false;
    size_t n = 0;
    uint32_t hh[2];
    if (gnuhash)
        n = gnu_hash_count(gnuhash);
    else if (hash && lv_safe_read(hh, hash, sizeof hh))
        n = hh[1];
    if (n == 0 || n > (1u << 22)) return false;
    Elf64_Sym *syms = levels_alloc(n * sizeof *syms);
    char *str = levels_alloc(strsz);
    if (!syms || !str || !lv_safe_read(syms, symtab, n * sizeof *syms) ||
        !lv_safe_read(str, strtab, strsz)) {
        if (syms) rt_unmap(syms, n * sizeof *syms);
        if (str) rt_unmap(str, strsz);
        return false;
    }
    *t = (struct table){syms, n, str, strsz};
    return true;
}

/* ---- .symtab and sections from the file ---- */
static void *read_range(int fd, uint64_t off, uint64_t len, uint64_t fsize)
{
    if (!len || off > fsize || len > fsize - off || len > (256u << 20)) return NULL;
    void *p = levels_alloc(len);
    if (p && lv_pread(fd, p, len, off) != (long)len) {
        rt_unmap(p, len);
        return NULL;
    }
    return p;
}

static bool file_build_id(int fd, const Elf64_Shdr *sh, uint64_t fsize, uint8_t *id, uint32_t *len)
{
    unsigned char buf[256];
    uint64_t n = sh->sh_size < sizeof buf ? sh->sh_size : sizeof buf;
    if (sh->sh_offset > fsize || n > fsize - sh->sh_offset ||
        lv_pread(fd, buf, n, sh->sh_offset) != (long)n)
        return false;
    for (uint64_t off = 0; off + 12 <= n;) {
        uint32_t h[3];
        memcpy(h, buf + off, 12);
        uint64_t namesz = (h[0] + 3u) & ~3u, descsz = (h[1] + 3u) & ~3u;
        if (off + 12 + namesz + descsz > n) break;
        if (h[2] == NT_GNU_BUILD_ID && h[0] == 4 && memcmp(buf + off + 12, "GNU", 4) == 0) {
            *len = h[1] > 20 ? 20 : h[1];
            memcpy(id, buf + off + 12 + namesz, *len);
            return true;
        }
        off += 12 + namesz + descsz;
    }
    return false;
}

static void read_file(const struct allocs_object *o, const char *path, struct table *t,
                      struct lv_section **secs, unsigned *nsecs)
{
    int fd = lv_open_read(path);
    if (fd < 0) return;
    long fsize = lv_file_size(fd);
    Elf64_Ehdr eh;
    Elf64_Shdr *sh = NULL;
    char *shstr = NULL;
    size_t shbytes = 0, shstrsz = 0;
    if (fsize < (long)sizeof eh || lv_pread(fd, &eh, sizeof eh, 0) != sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
        goto out;
    shbytes = (size_t)eh.e_shnum * sizeof *sh;
    sh = read_range(fd, eh.e_shoff, shbytes, (uint64_t)fsize);
    if (!sh) goto out;
    shstrsz = sh[eh.e_shstrndx].sh_size;
    shstr = read_range(fd, sh[eh.e_shstrndx].sh_offset, shstrsz, (uint64_t)fsize);
    if (!shstr || shstr[shstrsz - 1] != 0) goto out;
    /* A file that is not the loaded image (rebuilt since, or a different file at that path)
     * would give wrong answers: trust it only when the build-ids agree. */
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        uint8_t id[20];
        uint32_t len = 0;
        if (sh[i].sh_type == SHT_NOTE && file_build_id(fd, &sh[i], (uint64_t)fsize, id, &len) &&
            (len != o->build_id_len || memcmp(id, o->build_id, len) != 0))
            goto out;
    }
    struct lv_section *s = levels_alloc(eh.e_shnum * sizeof *s);
    unsigned n = 0;
    for (unsigned i = 0; s && i < eh.e_shnum; i++) {
        const Elf64_Shdr *x = &sh[i];
        if (!(x->sh_flags & SHF_ALLOC) || !x->sh_addr || !x->sh_size || x->sh_name >= shstrsz)
            continue;
        uintptr_t lo = x->sh_addr + o->load_bias;
        if (lo < o->lo || lo >= o->hi || x->sh_size > o->hi - lo) continue;
        s[n++] = (struct lv_section){lo, lo + x->sh_size, shstr + x->sh_name, (uint32_t)x->sh_flags,
                                     x->sh_type};
    }
    *secs = s;
    *nsecs = n;
    shstr = NULL; /* section names point into it: keep it */
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            sh[i].sh_link >= eh.e_shnum)
            continue;
        const Elf64_Shdr *st = &sh[sh[i].sh_link];
        Elf64_Sym *syms = read_range(fd, sh[i].sh_offset, sh[i].sh_size, (uint64_t)fsize);
        char *str = read_range(fd, st->sh_offset, st->sh_size, (uint64_t)fsize);
        if (syms && str) *t = (struct table){syms, sh[i].sh_size / sizeof *syms, str, st->sh_size};
        break;
    }
out:
    if (sh) rt_unmap(sh, shbytes);
    if (shstr) rt_unmap(shstr, shstrsz);
    lv_close(fd);
}

/* ---- merging ---- */
static size_t add_cands(const struct table *t, const struct allocs_object *o, struct cand *c,
                        size_t n)
{
    for (size_t i = 0; i < t->nsyms; i++) {
        const Elf64_Sym *s = &t->syms[i];
        unsigned type = ELF64_ST_TYPE(s->st_info);
        uint8_t kind = type == STT_FUNC || type == STT_GNU_IFUNC  ? 1
                       : type == STT_OBJECT || type == STT_COMMON ? 2
                                                                  : 0;
        if (!kind || s->st_shndx == SHN_UNDEF || s->st_shndx == SHN_ABS || s->st_name == 0 ||
            s->st_name >= t->strsz)
            continue;
        uint64_t a = s->st_value + o->load_bias;
        if (a < o->lo || a >= o->hi) continue;
        c[n++] = (struct cand){a, s->st_size, t->str + s->st_name, kind,
                               ELF64_ST_BIND(s->st_info) != STB_LOCAL};
    }
    return n;
}

static bool cand_less(const struct cand *a, const struct cand *b)
{
    if (a->addr != b->addr) return a->addr < b->addr;
    if (a->size != b->size) return a->size > b->size;
    return a->global > b->global;
}

/* Heapsort: no malloc (qsort may allocate), no recursion, O(n log n) on any input. */
static void sift(struct cand *c, size_t i, size_t n)
{
    for (;;) {
        size_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cand_less(&c[m], &c[l])) m = l;
        if (r < n && cand_less(&c[m], &c[r])) m = r;
        if (m == i) return;
        struct cand t = c[i];
        c[i] = c[m];
        c[m] = t;
        i = m;
    }
}

static void sort_cands(struct cand *c, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(c, i, n);
    for (size_t end = n; end > 1; end--) {
        struct cand t = c[0];
        c[0] = c[end - 1];
        c[end - 1] = t;
        sift(c, 0, end - 1);
    }
}

static void build(uint32_t idx, const struct allocs_object *o, uintptr_t dynamic)
{
    struct table dyn = {0}, tab = {0};
    struct lv_section *secs = NULL;
    unsigned nsecs = 0;
    const char *name = (const char *)(uintptr_t)o->name;
    read_dynsym(o, dynamic, &dyn);
    if (o->flags & ALLOCS_OBJECT_F_EXECUTABLE)
        read_file(o, "/proc/self/exe", &tab, &secs, &nsecs);
    else if (name && name[0] == '/')
        read_file(o, name, &tab, &secs, &nsecs);

    size_t total = dyn.nsyms + tab.nsyms, n = 0, strbytes = 0, out = 0;
    struct cand *c = total ? levels_alloc(total * sizeof *c) : NULL;
    if (c) n = add_cands(&tab, o, c, add_cands(&dyn, o, c, 0));
    sort_cands(c, n);
    for (size_t i = 0; i < n; i++) { /* drop duplicates (.dynsym repeats .symtab) */
        if (out && c[out - 1].addr == c[i].addr && c[out - 1].size == c[i].size) continue;
        c[out++] = c[i];
        strbytes += strlen(c[i].name) + 1;
    }
    struct allocs_symbol *syms = out ? levels_alloc(out * sizeof *syms) : NULL;
    uint64_t *max_end = out ? levels_alloc(out * sizeof *max_end) : NULL;
    char *str = out ? levels_alloc(strbytes) : NULL;
    if (!syms || !max_end || !str) out = 0;
    size_t at = 0;
    for (size_t i = 0; i < out; i++) {
        size_t len = strlen(c[i].name) + 1;
        memcpy(str + at, c[i].name, len);
        syms[i] = (struct allocs_symbol){c[i].addr, c[i].size, (uint32_t)at, c[i].kind, {0}};
        uint64_t end = c[i].addr + (c[i].size ? c[i].size : 1);
        max_end[i] = i && max_end[i - 1] > end ? max_end[i - 1] : end;
        at += len;
    }
    if (c) rt_unmap(c, total * sizeof *c);
    if (dyn.syms) rt_unmap((void *)dyn.syms, dyn.nsyms * sizeof *dyn.syms);
    if (dyn.str) rt_unmap((void *)dyn.str, dyn.strsz);
    if (tab.syms) rt_unmap((void *)tab.syms, tab.nsyms * sizeof *tab.syms);
    if (tab.str) rt_unmap((void *)tab.str, tab.strsz);

    levels_write_begin();
    struct allocs_object *live = (struct allocs_object *)(uintptr_t)__allocs_root.objects + idx;
    if (live->lo == o->lo && live->load_bias == o->load_bias && live->name == o->name) {
        struct lv_object_priv *p = &lv_objects_priv[idx];
        live->symbols = (uintptr_t)syms;
        live->strtab = (uintptr_t)str;
        live->nsymbols = (uint32_t)out;
        live->flags |= ALLOCS_OBJECT_F_SYMBOLS;
        p->max_end = max_end;
        p->sections = secs;
        p->nsections = nsecs;
        p->build_state = 1;
    }
    levels_write_end();
}

void symbols_ensure(uint32_t idx)
{
    if (idx >= LV_MAX_OBJECTS ||
        __atomic_load_n(&lv_objects_priv[idx].build_state, __ATOMIC_ACQUIRE))
        return;
    /* One build at a time, with signals blocked so a handler's query cannot wait on us. A
     * query during another thread's fork answers without symbols rather than wait for it. */
    uint64_t all = ~0ull, old = 0;
    lv_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    if (!rt_lock_unless_forking(&symbols_lock)) {
        lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
        return;
    }
    if (!lv_objects_priv[idx].build_state) {
        struct allocs_object o;
        uintptr_t dynamic;
        unsigned seq;
        do {
            seq = levels_read_begin();
            o = ((struct allocs_object *)(uintptr_t)__allocs_root.objects)[idx];
            dynamic = lv_objects_priv[idx].dynamic;
        } while (levels_read_retry(seq));
        if (o.flags & ALLOCS_OBJECT_F_LIVE) build(idx, &o, dynamic);
    }
    rt_unlock(&symbols_lock);
    lv_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
}

/* ---- lookups ---- */
struct symview {
    const struct allocs_symbol *syms;
    const uint64_t *max_end;
    const char *str;
    uint32_t n;
    const struct lv_section *secs;
    unsigned nsecs;
};

static bool view_of(uint32_t idx, const struct allocs_object *o, struct symview *v)
{
    symbols_ensure(idx);
    unsigned seq;
    bool ok;
    do {
        seq = levels_read_begin();
        const struct allocs_object *c =
            (struct allocs_object *)(uintptr_t)__allocs_root.objects + idx;
        const struct lv_object_priv *p = &lv_objects_priv[idx];
        ok = c->lo == o->lo && c->name == o->name && (c->flags & ALLOCS_OBJECT_F_SYMBOLS);
        *v = (struct symview){(const struct allocs_symbol *)(uintptr_t)c->symbols,
                              p->max_end,
                              (const char *)(uintptr_t)c->strtab,
                              c->nsymbols,
                              p->sections,
                              p->nsections};
    } while (levels_read_retry(seq));
    if (!ok || !v->syms || !v->max_end) v->n = 0;
    return ok;
}

/* The innermost symbol covering addr: the last one starting at or below it whose extent
 * reaches it. max_end (prefix maxima of the ends) bounds the backward walk exactly. */
static const struct allocs_symbol *covering(const struct symview *v, uintptr_t addr, int kind)
{
    uint32_t lo = 0, hi = v->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo, steps = 0; i-- > 0 && v->max_end[i] > addr && steps < 4096; steps++) {
        const struct allocs_symbol *s = &v->syms[i];
        uint64_t end = s->addr + (s->size ? s->size : 1);
        if (addr < end && (!kind || s->kind == kind)) return s;
    }
    return NULL;
}

/* A string literal has no symbol: its extent is from the byte after the previous NUL to its
 * own NUL. Only printable text (and UTF-8) counts, so unnamed constants in .rodata fall back
 * to the section. The bytes are copied with lv_safe_read, never touched in place. */
static bool string_at(uintptr_t addr, uintptr_t lo, uintptr_t hi, uintptr_t *base, size_t *size)
{
    enum { SPAN = 1024 };
    unsigned char buf[2 * SPAN];
    uintptr_t wb = addr - lo > SPAN ? addr - SPAN : lo, we = hi - addr > SPAN ? addr + SPAN : hi;
    if (we <= addr || !lv_safe_read(buf, wb, we - wb)) return false;
    size_t i = addr - wb, b = i, e = i;
    while (b > 0 && buf[b - 1])
        b--;
    if (b == 0 && wb != lo) return false; /* longer than the window: not a literal */
    while (e < we - wb && buf[e])
        e++;
    if (e == we - wb || e == b) return false;
    for (size_t k = b; k < e; k++)
        if (buf[k] < 0x20 && buf[k] != '\t' && buf[k] != '\n' && buf[k] != '\r') return false;
    *base = wb + b;
    *size = e - b + 1;
    return true;
}

static bool rodata(uint32_t shflags, uint32_t type)
{
    return type == SHT_PROGBITS && !(shflags & (SHF_WRITE | SHF_EXECINSTR));
}

bool symbols_static_leaf(uint32_t idx, const struct allocs_object *o, const struct lv_segment *seg,
                         uintptr_t addr, struct rt_leaf *out)
{
    struct symview v;
    view_of(idx, o, &v);
    out->allocator = rt_allocator(ALLOCS_ALLOCATOR_STATIC);
    out->object = (const char *)(uintptr_t)o->name;
    const struct allocs_symbol *s = covering(&v, addr, 0);
    if (s) {
        out->base = s->addr;
        out->size = s->size ? s->size : 1;
        out->symbol = v.str + s->name;
        return true;
    }
    const struct lv_section *sec = NULL;
    for (unsigned i = 0; i < v.nsecs; i++)
        if (addr >= v.secs[i].lo && addr < v.secs[i].hi) sec = &v.secs[i];
    uintptr_t b;
    size_t n;
    if (sec ? rodata(sec->flags, sec->type) && addr < seg->file_hi &&
                  string_at(addr, sec->lo, sec->hi < seg->file_hi ? sec->hi : seg->file_hi, &b, &n)
            : (seg->flags & 7) == 4 /* PF_R only */ && addr < seg->file_hi &&
                  string_at(addr, seg->lo, seg->file_hi, &b, &n)) {
        out->base = b;
        out->size = n;
        out->is_string = true;
        return true;
    }
    out->base = sec ? sec->lo : seg->lo;
    out->size = sec ? sec->hi - sec->lo : seg->hi - seg->lo;
    return true;
}

const char *symbols_function_at(uintptr_t pc, const char **object)
{
    uint32_t idx;
    struct allocs_object o;
    struct lv_segment seg;
    struct symview v;
    if (!objects_find(pc, &idx, &o, &seg) || !view_of(idx, &o, &v)) return NULL;
    const struct allocs_symbol *s = covering(&v, pc, 1);
    if (object) *object = (const char *)(uintptr_t)o.name;
    return s ? v.str + s->name : NULL;
}

bool elf_lookup_function(const char *name, uintptr_t *lo, uintptr_t *hi)
{
    if (!name || !__allocs_root.objects) return false;
    for (uint32_t i = 0; i < __allocs_root.nobjects && i < LV_MAX_OBJECTS; i++) {
        struct allocs_object o;
        unsigned seq;
        do {
            seq = levels_read_begin();
            o = ((struct allocs_object *)(uintptr_t)__allocs_root.objects)[i];
        } while (levels_read_retry(seq));
        struct symview v;
        if (!(o.flags & ALLOCS_OBJECT_F_LIVE) || !view_of(i, &o, &v)) continue;
        for (uint32_t k = 0; k < v.n; k++) {
            if (v.syms[k].kind == 1 && strcmp(v.str + v.syms[k].name, name) == 0) {
                *lo = v.syms[k].addr;
                *hi = v.syms[k].addr + (v.syms[k].size ? v.syms[k].size : 1);
                return true;
            }
        }
    }
    return false;
}

/* ---- the static allocator (allocators.h): a symbol, section or string literal of a loaded
 * object ---- */
static bool static_describe(struct rt_where *w, unsigned how, struct rt_leaf *out)
{
    (void)how;
    if (!where_object(w, true) || w->segment.hi <= w->segment.lo) return false;
    if (symbols_static_leaf(w->object, &w->object_rec, &w->segment, w->addr, out)) return true;
    /* symbols_static_leaf writes before it knows the answer: leave *out as it came (zeroed) */
    memset(out, 0, sizeof *out);
    return false;
}

static const struct uniqtype *static_type(const struct rt_where *w, const struct rt_leaf *l)
{
    const struct uniqtype *t = meta_type_of_static(w->addr, l->base);
    return t || !l->is_string ? t : meta_type_of_string(l->size);
}

const struct allocs_allocator static_allocator = {
    .name = ALLOCS_ALLOCATOR_NAME_STATIC,
    .id = ALLOCS_ALLOCATOR_STATIC,
    .level = ALLOCS_LEVEL_OBJECT,
    .describe = static_describe,
    .type = static_type,
};
