/* stack_cfi.c: the stack walk's fast path (stack.c): our own CFI reader, giving a PC's frame
 * rule, and the generation that invalidates the rules stack.c caches.
 * libgcc reparses each frame's CIE and FDE on every unwind (~150-300 ns a frame). On x86-64
 * almost every frame's rule is "CFA = rsp or rbp + k; rbp saved at CFA + m (or untouched);
 * return address at CFA - 8", so that triple is computed once per PC (from the object's
 * .eh_frame_hdr, found with _dl_find_object) and cached (by stack.c: the walk's loop inlines
 * the cache's probe). Anything else (CFA expressions, as in
 * realigned frames; signal frames) makes the fast path give up and libgcc answer instead. */
#define _GNU_SOURCE
#include "levels.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

unsigned lv_stack_rule_gen; /* levels.h */

void stack_rules_forget(void)
{
    __atomic_fetch_add(&lv_stack_rule_gen, 1, __ATOMIC_ACQ_REL);
}

struct cursor {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t uleb(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; c->p < c->end && shift < 64; shift += 7) {
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = true;
    return 0;
}

static int64_t sleb(struct cursor *c)
{
    int64_t v = 0;
    unsigned shift = 0;
    for (; c->p < c->end && shift < 64;) {
        uint8_t b = *c->p++;
        v |= (int64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) return shift < 64 && (b & 0x40) ? v | -((int64_t)1 << shift) : v;
    }
    c->bad = true;
    return 0;
}

/* DW_EH_PE_* pointers; only pc-relative and absolute applications occur in x86-64 FDEs. */
static uintptr_t encoded(struct cursor *c, uint8_t enc)
{
    const uint8_t *at = c->p;
    uintptr_t v;
    size_t n = (enc & 0x0f) == 0x03 || (enc & 0x0f) == 0x0b                           ? 4
               : (enc & 0x0f) == 0x02 || (enc & 0x0f) == 0x0a                         ? 2
               : (enc & 0x0f) == 0x00 || (enc & 0x0f) == 0x04 || (enc & 0x0f) == 0x0c ? 8
                                                                                      : 0;
    if (enc == 0xff || !n || (enc & 0x70) > 0x10 || c->end - c->p < (ptrdiff_t)n) {
        c->bad = true;
        return 0;
    }
    int64_t sv = 0;
    memcpy(&sv, c->p, n);
    if (n == 4 && (enc & 0x08)) sv = (int32_t)sv;
    if (n == 2 && (enc & 0x08)) sv = (int16_t)sv;
    c->p += n;
    v = (uintptr_t)sv;
    if ((enc & 0x70) == 0x10) v += (uintptr_t)at;
    return v;
}

struct cfa_state {
    uint64_t reg;
    int64_t off, rbp_off;
};

/* Runs CFA instructions up to pc. false on anything the fast path does not model. */
static bool run_cfi(struct cursor *c, uintptr_t loc, uintptr_t pc, int64_t daf, uint64_t caf,
                    uint8_t fde_enc, struct cfa_state *st, const struct cfa_state *init)
{
    struct cfa_state stack[8];
    unsigned depth = 0, steps = 0;
    while (c->p < c->end && !c->bad && steps++ < 10000) {
        uint8_t op = *c->p++, low = op & 0x3f;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1:
            delta = low * caf;
            break;
        case 2:
            if (low == 6)
                st->rbp_off = (int64_t)uleb(c) * daf;
            else
                uleb(c);
            continue;
        case 3:
            if (low == 6) st->rbp_off = init->rbp_off;
            continue;
        default:
            switch (op) {
            case 0x00:
                continue;
            case 0x01:
                loc = encoded(c, fde_enc);
                continue;
            case 0x02:
                delta = c->p < c->end ? *c->p++ * caf : 0;
                break;
            case 0x03:
            case 0x04: {
                uint32_t d = 0;
                size_t n = op == 0x03 ? 2 : 4;
                if (c->end - c->p < (ptrdiff_t)n) return false;
                memcpy(&d, c->p, n);
                c->p += n;
                delta = d * caf;
                break;
            }
            case 0x05:
            case 0x14:
                reg = uleb(c);
                if (reg == 6)
                    st->rbp_off = (int64_t)uleb(c) * daf;
                else
                    uleb(c);
                if (reg == 6 && op == 0x14) return false;
                continue;
            case 0x11:
            case 0x15:
                reg = uleb(c);
                if (reg == 6)
                    st->rbp_off = sleb(c) * daf;
                else
                    sleb(c);
                if (reg == 6 && op == 0x15) return false;
                continue;
            case 0x06:
            case 0x07:
            case 0x08:
                if (uleb(c) == 6) st->rbp_off = op == 0x06 ? init->rbp_off : 0;
                continue;
            case 0x09:
                if (uleb(c) == 6) return false;
                uleb(c);
                continue;
            case 0x0a:
                if (depth == 8) return false;
                stack[depth++] = *st;
                continue;
            case 0x0b:
                if (!depth) return false;
                *st = stack[--depth];
                continue;
            case 0x0c:
                st->reg = uleb(c);
                st->off = (int64_t)uleb(c);
                continue;
            case 0x0d:
                st->reg = uleb(c);
                continue;
            case 0x0e:
                st->off = (int64_t)uleb(c);
                continue;
            case 0x12:
                st->reg = uleb(c);
                st->off = sleb(c) * daf;
                continue;
            case 0x13:
                st->off = sleb(c) * daf;
                continue;
            case 0x2e:
                uleb(c);
                continue;
            case 0x10:
            case 0x16:
                if (uleb(c) == 6) return false;
                reg = uleb(c);
                if ((uint64_t)(c->end - c->p) < reg) return false;
                c->p += reg;
                continue;
            case 0x2f:
                if (uleb(c) == 6)
                    st->rbp_off = -(int64_t)uleb(c) * daf;
                else
                    uleb(c);
                continue;
            default:
                return false; /* DW_CFA_def_cfa_expression and unknown ops */
            }
        }
        if (loc + delta > pc) return true;
        loc += delta;
    }
    return !c->bad;
}

bool stack_cfi_rule(uintptr_t pc, struct stack_rule *out)
{
    struct dl_find_object dlfo;
    if (_dl_find_object((void *)pc, &dlfo) != 0 || !dlfo.dlfo_eh_frame) return false;
    const uint8_t *hdr = dlfo.dlfo_eh_frame;
    /* .eh_frame_hdr: version 1, then a sorted table of (start, FDE) as datarel sdata4. */
    if (hdr[0] != 1 || hdr[3] != 0x3b) return false;
    struct cursor c = {hdr + 4, hdr + 4 + 16, false};
    encoded(&c, hdr[1]);
    uint64_t count = hdr[2] == 0x03 || hdr[2] == 0x0b ? *(const uint32_t *)c.p : 0;
    const int32_t *table = (const int32_t *)(c.p + 4);
    if (c.bad || !count || count > (1u << 24)) return false;
    uint64_t lo = 0, hi = count;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if ((uintptr_t)hdr + table[2 * mid] <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo) return false;
    const uint8_t *fde = hdr + table[2 * (lo - 1) + 1];
    uint32_t flen = *(const uint32_t *)fde, cie_off = *(const uint32_t *)(fde + 4);
    if (flen == 0xffffffffu || flen < 8 || !cie_off) return false;
    const uint8_t *cie = fde + 4 - cie_off;
    uint32_t clen = *(const uint32_t *)cie;
    if (clen == 0xffffffffu || clen < 8 || *(const uint32_t *)(cie + 4) != 0) return false;
    struct cursor cc = {cie + 9, cie + 4 + clen, false};
    const char *aug = (const char *)(cie + 9);
    size_t auglen = strnlen(aug, (size_t)(cc.end - cc.p));
    cc.p += auglen + 1;
    uint64_t caf = uleb(&cc);
    int64_t daf = sleb(&cc);
    if (cie[8] == 1)
        cc.p++;
    else
        uleb(&cc);
    uint8_t fde_enc = 0;
    if (aug[0] == 'z') {
        uint64_t alen = uleb(&cc);
        const uint8_t *aend = cc.p + alen;
        for (size_t i = 1; i < auglen && !cc.bad; i++) {
            if (aug[i] == 'R')
                fde_enc = *cc.p++;
            else if (aug[i] == 'L')
                cc.p++;
            else if (aug[i] == 'P')
                encoded(&cc, *cc.p++ & 0x7f);
            else if (aug[i] == 'S')
                return false; /* a signal frame */
            else
                break;
        }
        cc.p = aend;
    } else if (aug[0]) {
        return false;
    }
    struct cfa_state st = {7, 8, 0}, init;
    if (cc.bad || cc.p > cc.end || !run_cfi(&cc, 0, 0, daf, caf, fde_enc, &st, &st)) return false;
    init = st;
    struct cursor fc = {fde + 8, fde + 4 + flen, false};
    uintptr_t start = encoded(&fc, fde_enc);
    uintptr_t range = encoded(&fc, fde_enc & 0x0f);
    if (fc.bad || pc < start || pc - start >= range) return false;
    if (aug[0] == 'z') {
        uint64_t alen = uleb(&fc);
        fc.p += alen;
    }
    if (fc.bad || fc.p > fc.end || !run_cfi(&fc, start, pc, daf, caf, fde_enc, &st, &init))
        return false;
    if ((st.reg != 6 && st.reg != 7) || st.off <= 0 || st.off > (1 << 30)) return false;
    *out = (struct stack_rule){(int32_t)st.off, (int32_t)st.rbp_off, (uint8_t)st.reg};
    return true;
}
