#!/usr/bin/env bash
# Lints and format-checks every language in the project; `--fix` rewrites instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[ "${1:-}" = "--fix" ] && fix=1

ts_glob="**/*.ts"
c_files=$(git ls-files --cached --others --exclude-standard -- 'runtime/*.c' 'runtime/*.h' \
  'test-programs/*.c' 'test-programs/*.h' 'bench/*.c' 'typegen/native/*.c' 'typegen/native/*.h' | sort -u |
  # mi_target.c's line numbers are part of captured gdb/MI fixtures (tests/extension/fixtures).
  grep -v '^test-programs/mi_target\.c$')
py_files=$(git ls-files --cached --others --exclude-standard -- '*.py' | sort -u)

if [ $fix -eq 1 ]; then
  npx eslint --fix .
  npx prettier --write --log-level warn "$ts_glob"
  [ -n "$c_files" ] && clang-format -i $c_files
else
  npx eslint --max-warnings 0 .
  npx prettier --check --log-level warn "$ts_glob"
  [ -n "$c_files" ] && clang-format --dry-run --Werror $c_files
fi
[ -n "$py_files" ] && flake8 $py_files
# The bridge's types (gdb-python-bridge/mypy.ini). Debian's mypy (python3-mypy) is a module of
# the system Python, which is also the Python gdb and LLDB embed.
(cd gdb-python-bridge && /usr/bin/python3 -m mypy --no-error-summary \
  allocs_decoder allocs_gdbfront allocs_lldbfront allocs_gdb.py allocs_lldb.py tests)
# Every file of the runtime's sources is in runtime/README.md's table of parts.
for f in $(git ls-files --cached --others --exclude-standard -- 'runtime/src/*' | xargs -n1 basename); do
  grep -q "\`$f\`" runtime/README.md || { echo "lint: runtime/README.md does not list runtime/src/$f" >&2; exit 1; }
done
# No two runtime files use each other's symbols (the allow-list only shrinks).
/usr/bin/python3 scripts/check-mutual-calls.py
# The bridge's modules: no private name imported across modules, no import cycles.
/usr/bin/python3 scripts/check-imports.py
# The coverage floor only rises (tests/coverage-floor.json's history).
/usr/bin/python3 scripts/coverage-floor.py --history
echo "lint: ok"
