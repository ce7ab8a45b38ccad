/* heap_cxx_new.cpp: every form of operator new and operator delete, under the preload.
 *
 * `behaviour` lines say what the program saw (null results, std::bad_alloc, new_handler calls,
 * alignment) and must be the same with and without the runtime; `probe` lines say what the
 * runtime answers for each allocation: its size, and whether its site is in main (the code that
 * called operator new, never libstdc++). Link with -rdynamic so dladdr names main. */
#include <allocs.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <new>

struct alignas(128) Wide {
    char bytes[200];
};

struct Counted {
    long v = 1;
    ~Counted() { v = 0; }
};

static void probe(const char *name, const void *p, size_t want, size_t align)
{
    Dl_info info;
    const void *site = alloc_get_site(p);
    bool in_main = site && dladdr(site, &info) && info.dli_sname && strcmp(info.dli_sname, "main") == 0;
    printf("probe %s size=%zu want=%zu site_main=%d\n", name, alloc_get_size(p), want, in_main);
    printf("behaviour %s nonnull=%d aligned=%d\n", name, p != nullptr,
           (reinterpret_cast<uintptr_t>(p) % align) == 0);
}

static int handler_calls;
static void handler()
{
    if (++handler_calls == 3) std::set_new_handler(nullptr);
}

int main()
{
    const std::nothrow_t &nt = std::nothrow;
    void *a = ::operator new(40);
    probe("new", a, 40, 16);
    void *b = ::operator new[](56);
    probe("new_array", b, 56, 16);
    void *c = ::operator new(24, nt);
    probe("new_nothrow", c, 24, 16);
    void *d = ::operator new[](72, nt);
    probe("new_array_nothrow", d, 72, 16);
    void *e = ::operator new(100, std::align_val_t(64));
    probe("new_aligned", e, 100, 64);
    void *f = ::operator new[](300, std::align_val_t(256));
    probe("new_array_aligned", f, 300, 256);
    void *g = ::operator new(40, std::align_val_t(128), nt);
    probe("new_aligned_nothrow", g, 40, 128);
    void *h = ::operator new[](40, std::align_val_t(32), nt);
    probe("new_array_aligned_nothrow", h, 40, 32);
    Wide *w = new Wide;
    probe("new_overaligned", w, sizeof(Wide), alignof(Wide));
    Counted *k = new Counted[5];
    probe("new_cookie", reinterpret_cast<char *>(k) - sizeof(size_t), 5 * sizeof(Counted) + sizeof(size_t), 8);

    ::operator delete(a);
    ::operator delete[](b, 56);
    ::operator delete(c, nt);
    ::operator delete[](d, nt);
    ::operator delete(e, 100, std::align_val_t(64));
    ::operator delete[](f, std::align_val_t(256));
    ::operator delete(g, std::align_val_t(128), nt);
    ::operator delete[](h, 40, std::align_val_t(32));
    delete w;
    delete[] k;

    /* Failure: nothrow returns null; the throwing forms call the new_handler until it is
     * removed, then throw std::bad_alloc. */
    const size_t huge = SIZE_MAX / 4;
    printf("behaviour nothrow_huge null=%d\n", ::operator new(huge, nt) == nullptr);
    printf("behaviour aligned_nothrow_huge null=%d\n",
           ::operator new[](huge, std::align_val_t(64), nt) == nullptr);
    std::set_new_handler(handler);
    try {
        void *never = ::operator new[](huge);
        printf("behaviour huge allocated %d\n", never != nullptr);
    } catch (const std::bad_alloc &) {
        printf("behaviour huge bad_alloc handler_calls=%d\n", handler_calls);
    }
    handler_calls = 0;
    std::set_new_handler(handler);
    try {
        void *never = ::operator new(huge, std::align_val_t(64));
        printf("behaviour huge_aligned allocated %d\n", never != nullptr);
    } catch (const std::bad_alloc &) {
        printf("behaviour huge_aligned bad_alloc handler_calls=%d\n", handler_calls);
    }
    return 0;
}
