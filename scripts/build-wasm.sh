#!/bin/sh
# Builds the WebAssembly variants into build/wasm-<variant>/ and collects what ships into wasm/dist/:
#   ds2-relaxed-mt.{mjs,wasm,worker.js}  SIMD128 + relaxed-SIMD dots + pthreads (engines with relaxed SIMD)
#   ds2-simd-mt.{mjs,wasm,worker.js}  SIMD128 + pthreads (needs cross-origin isolation in browsers)
#   ds2-simd.{mjs,wasm}               SIMD128, single thread
#   ds2-nosimd.{mjs,wasm}             baseline (no SIMD, single thread)
#   ds2.wasm                          the CLI for WASI (node wasm/wasi-run.mjs wasm/dist/ds2.wasm info -m x.gguf)
# Usage: scripts/build-wasm.sh [--tests] [variant ...]   (variants: relaxed-mt simd-mt simd nosimd wasi
#   wasi-relaxed; default all)
#   --tests also builds C tests (all in build/wasm-simd-mt, test_kernels/test_model/test_simd in build/wasm-nosimd,
#   test_kernels/test_kernels_gemm/test_simd/test_attn in build/wasi-relaxed;
#   run them with ctest there, as scripts/test.sh does).
# Needs Debian's emscripten, clang, lld, wasi-libc, libclang-rt-14-dev-wasm32 (scripts/setup.sh installs them).
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
tests=0
if [ "${1:-}" = "--tests" ]; then tests=1; shift; fi
variants=${*:-relaxed-mt simd-mt simd nosimd wasi wasi-relaxed}

# Debian's emcc runs its JS tools with Node and cannot find acorn (a Debian node-acorn package) without this.
NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
export NODE_PATH
node=$(command -v node)
dist=wasm/dist
mkdir -p "$dist"
# The pthread worker script is CommonJS; the repository's package.json says "type": "module" (see wasm.cmake).
echo '{"type": "commonjs"}' > "$dist/package.json"

for v in $variants; do
    case $v in
        relaxed-mt) flags="-DDS2_WASM_SIMD=ON -DDS2_THREADS=ON -DDS2_WASM_RELAXED=ON" ;;
        simd-mt) flags="-DDS2_WASM_SIMD=ON -DDS2_THREADS=ON" ;;
        simd) flags="-DDS2_WASM_SIMD=ON -DDS2_THREADS=OFF" ;;
        nosimd) flags="-DDS2_WASM_SIMD=OFF -DDS2_THREADS=OFF" ;;
        wasi)
            cmake -S . -B build/wasi -DCMAKE_TOOLCHAIN_FILE=wasm/wasi-toolchain.cmake -DCMAKE_BUILD_TYPE=Release \
                >/dev/null
            cmake --build build/wasi --target ds2_cli -j "$jobs"
            cp build/wasi/ds2.wasm "$dist/ds2.wasm"
            continue ;;
        wasi-relaxed)
            # not shipped: the relaxed-SIMD kernels' C tests, run under Node 20 (its flag; wasm.cmake)
            cmake -S . -B build/wasi-relaxed -DCMAKE_TOOLCHAIN_FILE=wasm/wasi-toolchain.cmake \
                -DCMAKE_BUILD_TYPE=Release -DDS2_WASM_RELAXED=ON >/dev/null
            targets=ds2_cli
            [ "$tests" = 1 ] && targets="ds2_cli test_simd test_kernels_gemm test_kernels test_attn"
            # shellcheck disable=SC2086
            cmake --build build/wasi-relaxed --target $targets -j "$jobs"
            continue ;;
        *) echo "build-wasm: unknown variant '$v' (relaxed-mt simd-mt simd nosimd wasi wasi-relaxed)" >&2; exit 2 ;;
    esac
    # Debian's Emscripten toolchain file sets the ctest emulator to `node --experimental-wasm-threads`, which
    # Node 20 rejects: plain node runs SIMD128 and threads.
    # shellcheck disable=SC2086
    emcmake cmake -S . -B "build/wasm-$v" -DCMAKE_BUILD_TYPE=Release $flags \
        -DCMAKE_CROSSCOMPILING_EMULATOR="$node" >/dev/null
    # Each test links into its own wasm (seconds apiece), so --tests builds all C tests only for SIMD128 +
    # pthreads (where the SIMD128 kernels and the thread pool run), the kernel/model tests for the baseline,
    # and none for single-thread SIMD128 (the same kernels as simd-mt); CI stays within its time budget.
    targets=ds2_wasm
    if [ "$tests" = 1 ]; then
        case $v in
            simd-mt) targets=all ;;
            nosimd) targets="ds2_wasm test_kernels test_model test_simd" ;;
        esac
    fi
    # shellcheck disable=SC2086
    cmake --build "build/wasm-$v" -j "$jobs" --target $targets
    for f in "build/wasm-$v/ds2-$v".*; do
        case $f in *.mjs|*.wasm|*.worker.js) cp "$f" "$dist/" ;; esac
    done
done
echo "build-wasm: $(cd "$dist" && ls | tr '\n' ' ')"
