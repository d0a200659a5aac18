#!/bin/sh
# The README's run command: builds the native CLI and runs it on the bundled model.
# Until the trained model ships in models/ (see models/README.md), it makes a small random deepseek2 model
# with the project's own tool and shows what the engine does with it: model card, then a prompt of token
# ids evaluated with the top-5 next tokens per position and a greedy continuation.
set -eu
cd "$(dirname "$0")/.."
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
./build/release/ds2 eval -m "$model" --tokens 1,2,3,4,5,6,7,8 -n 16 --threads 2
