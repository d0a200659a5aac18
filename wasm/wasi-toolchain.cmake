# wasi-toolchain.cmake — CMake toolchain for the WASI build of the CLI with Debian's clang + wasi-libc
# (packages clang, lld, wasi-libc, libclang-rt-14-dev-wasm32):
#   cmake -S . -B build/wasi -DCMAKE_TOOLCHAIN_FILE=wasm/wasi-toolchain.cmake && cmake --build build/wasi --target ds2_cli
# gives build/wasi/ds2.wasm (SIMD128, no threads), run with `node wasm/wasi-run.mjs build/wasi/ds2.wasm info -m x.gguf`
# or any WASI runtime. CMake 3.25 has no WASI platform module, so the system is "Generic" and DS2_WASI tells
# the project (wasm/wasm.cmake) what it is building.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(DS2_WASI ON)
find_program(DS2_WASI_CLANG NAMES clang clang-14 REQUIRED)
set(CMAKE_C_COMPILER ${DS2_WASI_CLANG})
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
# Debian installs wasi-libc's headers and libraries under /usr/{include,lib}/wasm32-wasi, which clang finds for
# this target on its own; the linker is lld's wasm-ld.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
