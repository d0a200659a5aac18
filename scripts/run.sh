#!/bin/sh
# The README's run command: `./scripts/run.sh [--cli] [model.gguf]`.
# Builds the native CLI and runs it on the bundled model (the first models/*.gguf: the small DeepSeek-V2
# trained on Austen and Melville, models/ds2-novels-8m.md): model card, then a text prompt continued greedily
# and sampled (fixed seed). Then, unless --cli, it serves the demo page with that model (scripts/serve.mjs:
# builds the wasm variants if missing, COOP/COEP headers, prints the URL; Ctrl-C stops it). With no model in
# models/ it makes a random deepseek2 model with the project's own tool (its text is gibberish).
set -eu
cd "$(dirname "$0")/.."
serve=1
if [ "${1:-}" = "--cli" ]; then serve=0; shift; fi
sh scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc 2>/dev/null || echo 2)" --target ds2_cli
model=${1:-}
if [ -z "$model" ]; then
    for f in models/*.gguf; do [ -e "$f" ] && model=$f && break; done
fi
if [ -z "$model" ]; then
    model=build/release/random-deepseek2.gguf
    echo "run: no bundled model yet; making a random one at $model"
    /usr/bin/python3 models/make_tiny.py --out "$model" --seed 1 --dtype q8_0 --layers 4 --hidden 128 \
        --experts 16 --experts-used 4 --vocab 512 >/dev/null
fi
./build/release/ds2 info -m "$model"
prompt="It is a truth universally acknowledged, that"
echo
echo "== greedy: ds2 run -m $model -p \"$prompt\" -n 40 --temp 0"
printf "%s" "$prompt"
./build/release/ds2 run -m "$model" -p "$prompt" -n 40 --temp 0 --threads 2
echo
echo "== sampled: ds2 run -m $model -p \"$prompt\" -n 40 --temp 0.8 --seed 42"
printf "%s" "$prompt"
./build/release/ds2 run -m "$model" -p "$prompt" -n 40 --temp 0.8 --seed 42 --threads 2
echo
echo
if [ "$serve" = 1 ]; then
    echo "== the demo page (node scripts/serve.mjs --model $model); Ctrl-C stops it"
    exec node scripts/serve.mjs --model "$model"
fi
