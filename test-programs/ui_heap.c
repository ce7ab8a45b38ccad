/* The program the VS Code UI test (tests/ui) debugs: heap pointers whose allocation summaries
 * the Variables view must show. The test breaks on the line marked BREAK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
    int x;
    int y;
};

int main(void)
{
    struct point *pts = malloc(3 * sizeof(struct point));
    char *name = malloc(42);
    int i;
    for (i = 0; i < 3; i++) {
        pts[i].x = i;
        pts[i].y = 10 * i;
    }
    strcpy(name, "allocs");
    printf("%s %d\n", name, pts[2].y); /* BREAK */
    free(name);
    free(pts);
    return 0;
}
/* added to Watch by the test, an error there:
 * watch: not_in_scope */
