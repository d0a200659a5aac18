# wasm/wasm.cmake — the WebAssembly builds, included by the top-level CMakeLists.txt under `emcmake` (EMSCRIPTEN)
# or with the WASI toolchain file (wasm/wasi-toolchain.cmake, DS2_WASI). Included before the engine library is
# declared, so the flags set here reach every target (library, CLI, tests) and the SIMD kernel detection.
#
# Variants (scripts/build-wasm.sh builds them all):
#   emcmake cmake -DDS2_WASM_RELAXED=ON -DDS2_THREADS=ON → ds2-relaxed-mt.mjs (+ relaxed SIMD; see below)
#   emcmake cmake -DDS2_WASM_SIMD=ON  -DDS2_THREADS=ON   → ds2-simd-mt.mjs  (SIMD128 + pthreads, shared memory)
#   emcmake cmake -DDS2_WASM_SIMD=ON  -DDS2_THREADS=OFF  → ds2-simd.mjs     (SIMD128, single thread)
#   emcmake cmake -DDS2_WASM_SIMD=OFF -DDS2_THREADS=OFF  → ds2-nosimd.mjs   (baseline wasm MVP)
#   cmake -DCMAKE_TOOLCHAIN_FILE=wasm/wasi-toolchain.cmake → ds2.wasm (the CLI for node:wasi / any WASI runtime)

option(DS2_WASM_SIMD "Compile for WebAssembly SIMD128" ON)
# Threads in the browser need pthread workers started before C blocks on them: the pool is created with the
# module. A session asking for more threads than the pool holds fails cleanly (PTHREAD_POOL_SIZE_STRICT=2
# makes pthread_create return EAGAIN instead of deadlocking); JS may raise it with Module.ds2PoolSize.
set(DS2_WASM_POOL_SIZE 8 CACHE STRING "Default pthread pool size of the SIMD+pthreads module")

if(DS2_WASM_SIMD)
  string(APPEND CMAKE_C_FLAGS " -msimd128")
endif()

# Relaxed SIMD (the K-quant, Q8_0, Q4_0 and Q5_0 dots with i16x8.relaxed_dot_i8x16_i7x16_s, the exact double multiply-adds with
# f64x2.relaxed_madd; src/kernels/simd128.c, half_simd128.h): clang 14 writes them as prototype instructions and
# every linked .wasm is rewritten by wasm/relaxed-patch.mjs (see there).
# Engines need relaxed SIMD (Chromium ≥ 114; Node 20 only with --experimental-wasm-relaxed-simd).
option(DS2_WASM_RELAXED "WebAssembly relaxed SIMD: dot products, multiply-adds (needs DS2_WASM_SIMD)" OFF)
find_program(DS2_NODE node)
# ds2_wasm_relaxed_patch(target): after linking, the target's .wasm gets the relaxed opcodes (no-op without
# DS2_WASM_RELAXED). Emscripten targets write <name>.wasm next to their .mjs/.js, WASI targets are the .wasm.
function(ds2_wasm_relaxed_patch target)
  if(DS2_WASM_RELAXED)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${DS2_NODE} ${CMAKE_SOURCE_DIR}/wasm/relaxed-patch.mjs
              $<TARGET_FILE_DIR:${target}>/$<TARGET_FILE_BASE_NAME:${target}>.wasm
      VERBATIM)
  endif()
endfunction()
if(DS2_WASM_RELAXED)
  if(NOT DS2_WASM_SIMD)
    message(FATAL_ERROR "DS2_WASM_RELAXED needs DS2_WASM_SIMD")
  endif()
  string(APPEND CMAKE_C_FLAGS " -mrelaxed-simd")
endif()

if(DS2_WASI)
  # WASI has no threads here (wasi-libc without wasi-threads): the single-thread pool runs inline.
  set(DS2_THREADS OFF CACHE BOOL "" FORCE)
  set(DS2_ORACLE_TESTS OFF CACHE BOOL "" FORCE)
  # ctest runs each test .wasm through node:wasi (see wasi-run.mjs), with the host file system preopened.
  find_program(DS2_NODE_FOR_WASI node REQUIRED)
  if(DS2_WASM_RELAXED) # Node 20 has relaxed SIMD behind a flag
    set(CMAKE_CROSSCOMPILING_EMULATOR ${DS2_NODE_FOR_WASI};--no-warnings;--experimental-wasm-relaxed-simd;${CMAKE_CURRENT_LIST_DIR}/wasi-run.mjs)
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${DS2_NODE_FOR_WASI};--no-warnings;${CMAKE_CURRENT_LIST_DIR}/wasi-run.mjs)
  endif()
  set(CMAKE_EXECUTABLE_SUFFIX .wasm)
  # The CLI installs a SIGINT handler (cancel on Ctrl-C); wasi-libc has signal() only as an emulation
  # (raise() works, nothing is ever delivered from outside), which is enough to compile and run it.
  add_compile_definitions(_WASI_EMULATED_SIGNAL)
  link_libraries(wasi-emulated-signal)
  return()
endif()

# ---- Emscripten --------------------------------------------------------------------------------------------
set(DS2_ORACLE_TESTS OFF CACHE BOOL "" FORCE) # llama.cpp comparisons drive the native CLI only
if(DS2_THREADS)
  # -pthread on every compile and link (CMake's FindThreads sees Emscripten's libc stubs and adds nothing).
  string(APPEND CMAKE_C_FLAGS " -pthread")
  string(APPEND CMAKE_EXE_LINKER_FLAGS " -pthread -sPTHREAD_POOL_SIZE_STRICT=2 -Wno-pthreads-mem-growth")
endif()
# Memory grows on demand up to the 4 GiB wasm32 limit.
string(APPEND CMAKE_EXE_LINKER_FLAGS " -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB")

if(DS2_WASM_RELAXED AND DS2_THREADS)
  set(DS2_WASM_VARIANT relaxed-mt)
elseif(DS2_WASM_SIMD AND DS2_THREADS)
  set(DS2_WASM_VARIANT simd-mt)
elseif(DS2_WASM_SIMD)
  set(DS2_WASM_VARIANT simd)
elseif(DS2_THREADS)
  set(DS2_WASM_VARIANT nosimd-mt)
else()
  set(DS2_WASM_VARIANT nosimd)
endif()

# Programs run by Node (tests, the CLI): the host file system directly (fixtures are written by the host
# Python), exit when main returns (else pthread workers keep Node alive), pool for the tests (test_kernels holds pools of 1..4 threads at once: 6 workers).
set(DS2_WASM_NODE_PROGRAM_FLAGS -sNODERAWFS=1 -sEXIT_RUNTIME=1 -sENVIRONMENT=node
    "SHELL:--pre-js ${CMAKE_CURRENT_LIST_DIR}/node-program-pre.js")
if(DS2_THREADS)
  list(APPEND DS2_WASM_NODE_PROGRAM_FLAGS -sPTHREAD_POOL_SIZE=8)
endif()
# Applies to every executable declared after this point in this directory and below (tests/, the CLI).
add_link_options(${DS2_WASM_NODE_PROGRAM_FLAGS})

# Debian's emscripten 3.1.6 test runner quirk: its toolchain file sets the ctest emulator to
# `node --experimental-wasm-threads`, which Node 20 rejects; configure with
# -DCMAKE_CROSSCOMPILING_EMULATOR=$(command -v node) (scripts/build-wasm.sh does).

# ---- the JS module: wasm/api.c exports, ES6 factory for browser and Node -------------------------------------
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/exports.txt DS2_WASM_EXPORTS REGEX "^_")
list(JOIN DS2_WASM_EXPORTS "," DS2_WASM_EXPORTS)
add_executable(ds2_wasm ${CMAKE_CURRENT_LIST_DIR}/api.c)
target_link_libraries(ds2_wasm PRIVATE ds2)
ds2_wasm_relaxed_patch(ds2_wasm)
# api.c asks the pthread pool how many workers are idle with EM_ASM, which needs -std=gnu11.
set_target_properties(ds2_wasm PROPERTIES C_EXTENSIONS ON)
set_target_properties(ds2_wasm PROPERTIES OUTPUT_NAME ds2-${DS2_WASM_VARIANT} SUFFIX .mjs
                      LINK_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/exports.txt;${CMAKE_CURRENT_LIST_DIR}/node-shim-extern.js;${CMAKE_CURRENT_LIST_DIR}/node-shim-pre.js;${CMAKE_CURRENT_LIST_DIR}/post.js")
# The module is not a Node program: it must not take the host file system, exit or use the program pre-js,
# so it drops the directory's program link options (add_link_options above) and sets its own.
set_property(TARGET ds2_wasm PROPERTY LINK_OPTIONS "")
target_link_options(ds2_wasm PRIVATE
  -sENVIRONMENT=web,worker,node
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createDs2
  "-sEXPORTED_FUNCTIONS=${DS2_WASM_EXPORTS}"
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8,addFunction,removeFunction
  -sALLOW_TABLE_GROWTH=1
  "SHELL:--extern-pre-js ${CMAKE_CURRENT_LIST_DIR}/node-shim-extern.js"
  "SHELL:--pre-js ${CMAKE_CURRENT_LIST_DIR}/node-shim-pre.js"
  "SHELL:--post-js ${CMAKE_CURRENT_LIST_DIR}/post.js")
if(DS2_THREADS)
  target_link_options(ds2_wasm PRIVATE "-sPTHREAD_POOL_SIZE=Module.ds2PoolSize||${DS2_WASM_POOL_SIZE}")
endif()
# The pthread worker (ds2-simd-mt.worker.js) is a classic script: next to the module it needs a package.json
# saying "commonjs", or Node applies the repository's "type": "module" to it and `require` is undefined.
file(WRITE ${CMAKE_BINARY_DIR}/package.json "{\"type\": \"commonjs\"}\n")
