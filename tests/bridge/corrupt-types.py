# Sourced by types.test.ts in gdb (after the bridge, at types_stop): corrupts run-time type
# records in the live process through gdb (so gdb's memory_changed event drops the bridge's
# cached session), then prints `@@corrupt ADDR...` naming what to ask about.
import gdb  # type: ignore[import-not-found]

s = session()  # noqa: F821 (defined by allocs_gdb.py, sourced into the same namespace)
types = s.types
node = s.describe(int(gdb.parse_and_eval("(unsigned long)list_head"))).utype
point = types.lookup("point")
outer = types.lookup("outer")
flags = types.lookup("flags")
assert node and point and outer and flags and node.addr and point.addr and outer.addr and flags.addr
gdb.execute(f"set {{unsigned int}}{node.addr + 40:#x} = 0xffffffff")  # member count: huge
gdb.execute(f"set {{unsigned long}}{point.addr + 48:#x} = 0x10")  # members: a bad pointer
gdb.execute(f"set {{unsigned long}}{outer.items + 32 + 8:#x} = {outer.addr:#x}")  # .in is an outer: a cycle
gdb.execute(f"set {{unsigned long}}{flags.addr:#x} = 0x8")  # name: a bad pointer
print("@@corrupted")
