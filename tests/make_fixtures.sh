#!/bin/sh
# Generates the test models into $1 with the project's own tools (no binary fixtures are checked in).
# Run by ctest as the "fixtures" setup test. Debian's numpy is only importable by /usr/bin/python3.
set -eu
out=$1
py=${DS2_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
tiny() { name=$1; shift; "$py" "$here/models/make_tiny.py" --out "$out/$name.gguf" "$@" >/dev/null; }
# one random master model (seed 1) in both GGUF generations, and the variants
tiny mla-f32 --seed 1 --gen mla --dtype f32
tiny legacy-f32 --seed 1 --gen legacy --dtype f32
tiny lite-f32 --seed 2 --gen mla --dtype f32 --q-lora-rank 0 --layers 4
tiny v3-f32 --seed 3 --gen mla --dtype f32 --gating sigmoid --exp-probs-b --groups 4 --groups-used 2 \
     --weights-norm --weights-scale 2.5 --shared 1
tiny mla-f16 --seed 1 --gen mla --dtype f16
tiny mla-bf16 --seed 1 --gen mla --dtype bf16
tiny mla-q8_0 --seed 1 --gen mla --dtype q8_0
# gguf-split shards of it (test_split): 3 shards, 3 with a metadata-only first shard, 2
for s in "a 3" "c 3 --no-tensor-first-split" "b 2"; do
    set -- $s
    "$py" "$here/models/gguf_split.py" "$out/mla-q8_0.gguf" "$out/split-$1" --shards "$2" ${3:-} >/dev/null
done
tiny legacy-q4_0 --seed 1 --gen legacy --dtype q4_0
# one-layer models: their cache is context-free, so a context shift must equal recomputing (test_shift)
tiny one-mla-f32 --seed 4 --gen mla --dtype f32 --layers 1 --dense-layers 0
tiny one-legacy-f32 --seed 5 --gen legacy --dtype f32 --layers 1 --q-lora-rank 0
tiny notmpl-f32 --seed 6 --gen mla --dtype f32 --layers 2 --no-chat-template
"$py" "$here/models/make_bad_gguf.py" --out "$out/bad" >/dev/null
echo "fixtures written to $out"
