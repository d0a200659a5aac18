#!/bin/sh
# The whole test suite (the README's test command; .ci/run calls exactly this):
#   1. Release build: unit tests, model tests on generated fixtures, and the engine-vs-llama.cpp comparisons;
#   2. the native suite again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the JavaScript API tests (node --test) on the wasm builds, in Node and headless Chromium.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DDS2_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"
(cd build/release && ctest --output-on-failure -j "$jobs")

cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DDS2_SANITIZE=ON -DDS2_ORACLE_TESTS=OFF -DDS2_WERROR=ON >/dev/null
cmake --build build/asan -j "$jobs"
(cd build/asan && ctest --output-on-failure -j "$jobs" -L "unit|model" -E model_tools_selftest)

# WebAssembly: every variant into wasm/dist/ (scripts/build-wasm.sh), then the C tests under Node: all of them
# in SIMD128 + pthreads (the SIMD128 kernels against the scalar reference, the thread pool on pthread workers),
# the kernel/model tests in the no-SIMD baseline and the relaxed-SIMD build; the WASI CLI is checked by
# tests/js/wasi_cli.test.mjs.
sh scripts/build-wasm.sh --tests
# (only the C test programs and their fixtures: the other tests drive host tools and run natively above)
(cd build/wasm-simd-mt && ctest --output-on-failure -j "$jobs" -R '^(fixtures|test_.*)$')
(cd build/wasm-nosimd && ctest --output-on-failure -j "$jobs" -R '^(fixtures|test_kernels|test_model|test_simd)$')
# the relaxed-SIMD kernels (WASI build, Node with its relaxed-SIMD flag; the browser tests run them in Chromium)
(cd build/wasi-relaxed && ctest --output-on-failure -j "$jobs" -R '^(fixtures|test_attn|test_kernels|test_kernels_gemm|test_simd)$')

# 3. The JavaScript API on the wasm builds (build/wasm-*/): Node (worker_threads, streamed loading, npm pack)
#    and headless Chromium (Web Worker, COOP/COEP → threads build). A build that is absent is reported skipped.
node --test tests/js/ tests/browser/
