/* typegen fixture: prints the layout facts of typegen_types.c as the compiler sees them
 * (sizeof/offsetof), so tests compare typegen's model with the compiler, not with constants. */
#include <stddef.h>
#include <stdio.h>
#define main fixture_main
#include "typegen_types.c"
#undef main

#define MEMBER(T, m) printf("%s.%s %zu\n", #T, #m, offsetof(T, m))
#define SIZE(T) printf("%s %zu\n", #T, sizeof(T))

int main(void)
{
    SIZE(struct point);
    SIZE(struct bits);
    SIZE(anon_t);
    SIZE(struct flex);
    SIZE(union num);
    SIZE(struct outer);
    SIZE(enum color);
    SIZE(enum big);
    MEMBER(struct point, y);
    MEMBER(struct bits, d);
    MEMBER(anon_t, r);
    MEMBER(struct flex, data);
    MEMBER(struct outer, name);
    MEMBER(struct outer, counter);
    MEMBER(struct outer, next_point);
    MEMBER(struct outer, value);
    MEMBER(struct outer, matrix);
    MEMBER(struct outer, len);
    MEMBER(struct outer, callback);
    MEMBER(struct outer, next);
    MEMBER(struct outer, ok);
    MEMBER(struct outer, ld);
    MEMBER(struct outer, atom);
    return 0;
}
