#!/usr/bin/env bash
# Installs code-server (VS Code in the browser) for the UI test into a cache folder, from the npm
# registry only: no downloads from other hosts (its postinstall would fetch ripgrep from GitHub
# and refuses to run as root). Idempotent: a finished install leaves a marker and later runs
# return at once. Prints the install folder (the one holding node_modules/code-server) last.
#
#   tests/ui/install-code-server.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $ALLOCS_UI_CACHE or ~/.cache/allocs-ui-test. Needs node 20, npm, a C
# toolchain (argon2 and node-pty build from source), ripgrep (`rg`) and libkrb5-dev.
set -euo pipefail

VERSION=4.100.3
cache="${1:-${ALLOCS_UI_CACHE:-$HOME/.cache/allocs-ui-test}}"
dir="$cache/code-server-$VERSION"
marker="$dir/.installed"

if [ -f "$marker" ] && [ -f "$dir/node_modules/code-server/out/node/entry.js" ]; then
  echo "$dir"
  exit 0
fi

rg_bin="$(command -v rg || true)"
if [ -z "$rg_bin" ]; then
  echo "install-code-server: ripgrep (rg) is missing: run \`npm run setup\` (apt-get install ripgrep)" >&2
  exit 1
fi

log() { echo "install-code-server: $*" >&2; }
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
echo '{ "name": "allocs-ui-code-server", "private": true }' >package.json
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

log "npm install code-server@$VERSION into $dir"
npm install --no-save --ignore-scripts --loglevel=error "code-server@$VERSION" >&2
log "building argon2"
npm rebuild argon2 --loglevel=error >&2

vs="$dir/node_modules/code-server/lib/vscode"
cd "$vs"
log "installing VS Code's production dependencies"
npm install --omit=dev --ignore-scripts --loglevel=error >&2
# @vscode/ripgrep's postinstall downloads rg from GitHub unless the binary is already there.
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$rg_bin" node_modules/@vscode/ripgrep/bin/rg
log "building VS Code's native modules"
npm rebuild --loglevel=error >&2
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
log "installing the built-in extensions' dependencies"
(cd extensions && npm install --omit=dev --ignore-scripts --loglevel=error >&2)

touch "$marker"
echo "$dir"
