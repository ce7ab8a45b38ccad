/* A small library for levels_probe's dlopen/dlclose probes. */
int levels_dso_global = 7;
static const char levels_dso_text[] = "dso text";

int levels_dso_function(int x)
{
    return x + levels_dso_global + levels_dso_text[0];
}
