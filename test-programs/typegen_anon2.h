/* typegen fixture header: the same anonymous typedef'd struct as typegen_anon1.h, declared again.
 */
typedef struct {
    int a;
    char *b;
} anon_pair;
