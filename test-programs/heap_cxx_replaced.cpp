/* heap_cxx_replaced.cpp: a program that replaces operator new and operator delete (only the
 * plain forms). libstdc++'s other forms call the replaced ones (new[] calls new, sized delete
 * calls delete), and must keep doing so under the preload: the counts printed must be the same
 * with and without the runtime. */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

static int news, deletes;

void *operator new(std::size_t n)
{
    news++;
    void *p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    return p;
}

void operator delete(void *p) noexcept
{
    if (p) deletes++;
    std::free(p);
}

int main()
{
    int *one = new int(7);
    int *many = new int[16];
    std::vector<long> v(100, 1);
    std::string s(200, 'x');
    void *nt = ::operator new(24, std::nothrow);
    ::operator delete(nt, std::nothrow);
    delete one;
    delete[] many;
    printf("news=%d deletes=%d sum=%ld len=%zu\n", news, deletes, v[99] + v[0], s.size());
    return 0;
}
