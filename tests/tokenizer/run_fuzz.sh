#!/bin/sh
# run_fuzz.sh CLANG SOURCE_DIR WORK_DIR VOCAB.gguf SECONDS — builds tests/fuzz_tokenizer.c with libFuzzer +
# ASan + UBSan (clang) and runs it for SECONDS on a small seed corpus. Exit 77 (skip) when clang cannot build
# libFuzzer binaries or the vocabulary fixture is missing; otherwise libFuzzer's exit code (0 = no finding).
set -eu
cc=$1 src=$2 work=$3 vocab=$4 secs=$5
[ -f "$vocab" ] || { echo "run_fuzz: $vocab missing (needs node_modules) - skipped"; exit 77; }
mkdir -p "$work/seeds"
s="$src/src"
if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$s" \
     "$src/tests/fuzz_tokenizer.c" "$s/gguf.c" "$s/dtype.c" "$s/status.c" "$s/tokenizer.c" "$s/tokenizer_pre.c" \
     "$s/unicode.c" "$s/unicode_data.c" "$s/detokenizer.c" -o "$work/fuzz_tokenizer" 2>"$work/build.log"; then
    if grep -q "fuzzer" "$work/build.log" && ! grep -q "error:.*\.c:" "$work/build.log"; then
        echo "run_fuzz: this clang cannot link libFuzzer - skipped"; cat "$work/build.log"; exit 77
    fi
    cat "$work/build.log"; exit 1
fi
printf '\001Hello, world! 12345 \344\275\240\345\245\275 <\357\275\234end\342\226\201of\342\226\201sentence\357\275\234>' > "$work/seeds/a"
printf '\000  \n\n\t x\314\201 \360\237\221\250\342\200\215\360\237\221\251 \377\300\257 \355\240\200' > "$work/seeds/b"
cd "$work"
rc=0
DS2_FUZZ_VOCAB="$vocab" ./fuzz_tokenizer -max_total_time="$secs" -max_len=2048 -rss_limit_mb=2048 \
    -print_final_stats=1 seeds >fuzz.log 2>&1 || rc=$?
tail -n 40 fuzz.log
exit $rc
