/* A shared library built without -g for tests/cli/zero-setup.test.ts: zero setup remembers that
 * it has no DWARF instead of searching for its debug file on every run. */
int zs_lib_value(void)
{
    return 7;
}
