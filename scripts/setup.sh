#!/usr/bin/env bash
# Sets up a checkout on Debian: the system packages the build and the tests use, then the npm
# dependencies (whose `prepare` step builds the runtime and compiles the TypeScript).
set -euo pipefail
cd "$(dirname "$0")/.."

# command-to-check:debian-package
needs=(gcc:gcc g++:g++ clang++:clang make:make gdb:gdb python3:python3 readelf:binutils objcopy:binutils
       clang:clang clang-format:clang-format flake8:flake8 git:git sqlite3:sqlite3
       lua5.4:lua5.4 pahole:dwarves dwz:dwz chromium:chromium krb5-config:libkrb5-dev rg:ripgrep
       lldb-16:lldb-16 lldb-vscode-16:lldb-16 valgrind:valgrind
       dpkg-source:dpkg-dev addr2line:binutils)
missing=()
for pair in "${needs[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# Packages found by dpkg rather than by a command: libc's and python's debug builds (typegen's
# real-input tests and benchmarks), GNU time (the benchmarks' peak RSS) and lldb's Python module
# (the LLDB front; lldb-16 ships lldb-vscode-16, its DAP server), mypy and coverage for the
# system Python (lint's type check of the bridge, the Python coverage floor).
for pkg in libc6-dbg python3.11-dbg time python3-lldb-16 python3-mypy python3-coverage; do
  if [ -f /etc/debian_version ] && ! dpkg -s "$pkg" >/dev/null 2>&1; then missing+=("$pkg"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm install --no-audit --no-fund
