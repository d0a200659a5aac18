#!/bin/sh
# bench/stream.c (ctest stream_smoke): on the bundled model it prints, for each weight type it probes, one line
# per thread count with positive memory and cache rates; bad input fails with a message, not a crash.
set -eu
stream=$1
m=$2
fail() { echo "FAIL: $*"; exit 1; }
out=$("$stream" -m "$m" --threads 1,2 --mb 4)
[ -n "$out" ] || fail "no output"
for t in 1 2; do
  pos='(0\.[1-9]|[1-9][0-9]*\.[0-9])' # a rate above 0.0 (sanitizer builds are slow)
  printf '%s\n' "$out" | grep -Eq "^[A-Z0-9_]+ threads $t: memory $pos GB/s, cache $pos GB/s \(" ||
    fail "no rates for $t thread(s): $out"
done
if err=$("$stream" -m /nonexistent.gguf 2>&1); then fail "a missing model was accepted"; fi
printf '%s\n' "$err" | grep -q "cannot open" || fail "missing model: '$err'"
if err=$("$stream" -m "$m" --threads 1,x 2>&1); then fail "--threads 1,x was accepted"; fi
printf '%s\n' "$err" | grep -q "comma-separated" || fail "bad --threads: '$err'"
echo "ok: $(printf '%s\n' "$out" | wc -l) rate lines"
