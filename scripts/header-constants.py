#!/usr/bin/python3
"""Every constant the runtime's public headers define, as the C compiler sees them, in JSON:
object-like macros and enumerators, {"NAME": integer or string}. The one reader of the headers
behind the checks that the decoder's layout (gdb-python-bridge/tests/test_layout.py) and
typegen's metadata format (tests/typegen/meta-format.test.ts) copy each constant right.

  header-constants.py HEADER...   (names relative to runtime/include, e.g. allocs_layout.h)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Dict, List, Union

INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime", "include")
# Macros that are not constants: include guards and the static assertion's spelling.
NOT_CONSTANTS = re.compile(r"_H$|_STATIC_ASSERT$")


def names_in(header: str) -> List[str]:
    """The object-like macros and the enumerators HEADER itself defines, in order."""
    with open(os.path.join(INCLUDE, header)) as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    names = [m for m in re.findall(r"^\s*#\s*define\s+(\w+)(?![\w(])", text, flags=re.M)
             if not NOT_CONSTANTS.search(m)]
    for body in re.findall(r"\benum\s+\w*\s*\{(.*?)\}", text, flags=re.S):
        names += [e.split("=")[0].strip() for e in body.split(",") if e.strip()]
    return names


def constants(headers: List[str]) -> Dict[str, Union[int, str]]:
    names = [n for h in headers for n in names_in(h)]
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "c.c"), os.path.join(d, "c")
        lines = ["#include <stdio.h>"] + [f'#include "{h}"' for h in headers]
        # _Generic tells strings from integers; a string literal is printed byte by byte in hex,
        # every byte but the terminating NUL (ALLOCS_MAGIC spells out a NUL of its own).
        lines += ["#define SHOW(n, v) _Generic((v), char *: show_s, default: show_i)(n, (v), sizeof(v))",
                  "static void show_s(const char *n, const char *s, size_t size) { printf(\"s %s \", n);",
                  "  for (size_t i = 0; i + 1 < size; i++) printf(\"%02x\", (unsigned char)s[i]);",
                  "  printf(\"\\n\"); }",
                  "static void show_i(const char *n, unsigned long long v, size_t size) {",
                  "  (void)size; printf(\"i %s %llu\\n\", n, v); }",
                  "int main(void) {"]
        lines += [f'SHOW("{n}", {n});' for n in names]
        lines.append("return 0; }")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["gcc", "-std=c11", "-w", "-I", INCLUDE, "-o", exe, src], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    result: Dict[str, Union[int, str]] = {}
    for line in out.splitlines():
        kind, name, value = (line.split(" ", 2) + [""])[:3]
        result[name] = int(value) if kind == "i" else bytes.fromhex(value).decode("latin-1")
    return result


if __name__ == "__main__":
    json.dump(constants(sys.argv[1:]), sys.stdout, indent=1)
    sys.stdout.write("\n")
