/* A plain `gcc -g` program the debug adapter launches in tests/cli/zero-setup.test.ts: its type
 * metadata is made (with a progress notification) before it runs. */
#include <stdlib.h>

struct zs_dap_item {
    int id;
    struct zs_dap_item *next;
};

int main(void)
{
    struct zs_dap_item *item = malloc(sizeof(struct zs_dap_item));
    item->id = 1;
    item->next = NULL;
    free(item);
    return 0;
}
