/* typegen fixture header: an anonymous struct behind a typedef (liballocs's two-headers case). */
typedef struct {
    int a;
    char *b;
} anon_pair;
