#!/usr/bin/env bash
# `npm run package`: the VS Code extension as an installable .vsix, without network access.
#
# The extension runs the adapter, the gdb bridge and the runtime from the same relative places as
# in a checkout (dist/extension/src/adapter/main.js finds ../../../../gdb-python-bridge and
# runtime/build), so a staging folder rebuilds that layout with only what runs:
#   package.json        extension/package.json + the root's runtime "dependencies"
#   README.md, LICENSE  extension/vsix/
#   dist/extension/**, dist/cli/**, dist/typegen/**   compiled TypeScript (no tests)
#   gdb-python-bridge/** (no tests, no caches)
#   runtime/build/liballocs.so, runtime/build/liballocs_stub.so, runtime/include/**
#   node_modules/       the root's production dependencies, copied (node-pty: its built binary
#                       for this machine, its JavaScript, no sources or other platforms' builds)
# then runs `vsce package` there. The build must have run first (`npm run build`).
#
#   scripts/package-extension.sh [--out FILE]     (default dist/allocs-VERSION.vsix)
# The last line printed is the .vsix's path.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

version="$(node -p 'require("./extension/package.json").version')"
out="$root/dist/allocs-$version.vsix"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$(realpath -m "$2")"; shift 2 ;;
    *) echo "package-extension: unknown argument $1" >&2; exit 2 ;;
  esac
done

need=(dist/extension/src/vscode/extension.js dist/extension/src/adapter/main.js
      runtime/build/liballocs.so runtime/build/liballocs_stub.so runtime/include/allocs.h
      gdb-python-bridge/allocs_gdb.py node_modules/node-pty/build/Release/pty.node)
for f in "${need[@]}"; do
  if [ ! -e "$f" ]; then
    echo "package-extension: $f is missing: run \`npm install\` and \`npm run build\` first" >&2
    exit 1
  fi
done

stage="$root/dist/.vsix-stage"
rm -rf "$stage"
mkdir -p "$stage/dist" "$stage/runtime/build" "$stage/node_modules"

# compiled TypeScript: the extension (host side and adapter) and the CLI, without source maps'
# sources of tests
copy_js() { # SRC DEST
  (cd "$1" && find . -type f \( -name '*.js' -o -name '*.js.map' \) -print0) |
    while IFS= read -r -d '' f; do
      mkdir -p "$2/$(dirname "$f")"
      cp "$1/$f" "$2/$f"
    done
}
copy_js dist/extension "$stage/dist/extension"
[ -d dist/cli ] && copy_js dist/cli "$stage/dist/cli"
# typegen: the adapter makes missing type metadata itself (typegen/src/meta/ensure.ts, its worker)
copy_js dist/typegen "$stage/dist/typegen"

# the bridge (Python) without its tests and caches
(cd gdb-python-bridge && find . -type f -name '*.py' -not -path './tests/*' -print0) |
  while IFS= read -r -d '' f; do
    mkdir -p "$stage/gdb-python-bridge/$(dirname "$f")"
    cp "gdb-python-bridge/$f" "$stage/gdb-python-bridge/$f"
  done
cp gdb-python-bridge/README.md "$stage/gdb-python-bridge/" 2>/dev/null || true

cp runtime/build/liballocs.so runtime/build/liballocs_stub.so "$stage/runtime/build/"
cp -r runtime/include "$stage/runtime/include"

cp extension/vsix/README.md extension/vsix/LICENSE "$stage/"

# the manifest, with the root's runtime dependencies (what the adapter and CLI require)
node - "$stage/package.json" <<'EOF'
const fs = require("node:fs");
const manifest = JSON.parse(fs.readFileSync("extension/package.json", "utf8"));
const root = JSON.parse(fs.readFileSync("package.json", "utf8"));
manifest.dependencies = { ...(root.dependencies ?? {}) };
fs.writeFileSync(process.argv[2], JSON.stringify(manifest, null, 2) + "\n");
EOF

# production node_modules: the closure of the root's "dependencies"
node - "$stage/node_modules" <<'EOF'
const fs = require("node:fs");
const path = require("node:path");
const dest = process.argv[2];
const root = JSON.parse(fs.readFileSync("package.json", "utf8"));
const seen = new Map(); // name -> source folder
function locate(name, from) {
  // node's lookup: from's own node_modules, then upwards to the root's
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.resolve(dir) === path.resolve(".")) break;
    dir = path.dirname(dir);
    if (!dir.startsWith(path.resolve("."))) break;
  }
  throw new Error(`package-extension: dependency ${name} (needed by ${from}) is not installed`);
}
function visit(name, from) {
  const src = locate(name, from);
  if (seen.has(src)) return;
  seen.set(src, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(src, "package.json"), "utf8"));
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, src);
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    try { visit(dep, src); } catch { /* optional */ }
  }
}
for (const name of Object.keys(root.dependencies ?? {})) visit(name, path.resolve("."));
// what of node-pty runs: its JavaScript and the binary built here
const NODE_PTY_KEEP = ["package.json", "LICENSE", "README.md", "lib", "typings", "build/Release/pty.node"];
for (const src of seen.keys()) {
  const rel = path.relative(path.resolve("node_modules"), src);
  const to = path.join(dest, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  if (path.basename(src) === "node-pty") {
    for (const part of NODE_PTY_KEEP) {
      const from = path.join(src, part);
      if (!fs.existsSync(from)) continue;
      fs.mkdirSync(path.dirname(path.join(to, part)), { recursive: true });
      fs.cpSync(from, path.join(to, part), {
        recursive: true,
        filter: (f) => !/\.test\.js(\.map)?$/.test(f),
      });
    }
  } else {
    fs.cpSync(src, to, { recursive: true });
  }
}
console.error(`package-extension: ${seen.size} production packages: ${[...new Set(seen.values())].sort().join(", ")}`);
EOF

# What vsce must not pack: the adapter tests' leftovers, source maps' TypeScript is not there
cat >"$stage/.vscodeignore" <<'EOF'
**/*.ts
!**/*.d.ts
**/.vsix-stage/**
EOF

mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$stage" && "$root/node_modules/.bin/vsce" package --allow-missing-repository --no-update-package-json \
  --no-git-tag-version --out "$out" >&2)
echo "package-extension: $(du -h "$out" | cut -f1) in $(unzip -l "$out" | tail -1 | awk '{print $2}') files" >&2
echo "$out"
