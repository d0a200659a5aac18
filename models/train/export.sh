#!/bin/sh
# Trained checkpoint -> HF-style folder -> GGUFs (both generations, several dtypes) -> the shipped model,
# its golden data and the perplexity checks (models/train/golden.py).
#
#   sh models/train/export.sh [RUN_DIR]      (default models/train/out; needs /usr/bin/python3 + torch)
#
# RUN_DIR holds best.pt (a plain state_dict with HF DeepSeek-V2 names), config.json and tokenizer.json,
# as train.py leaves them. Outputs:
#   RUN_DIR/hf/                 config.json, tokenizer.json, tokenizer_config.json, pytorch_model.bin:
#                               a folder models/convert.py reads like a real DeepSeek-V2 checkpoint
#   RUN_DIR/gguf/NAME-{mla,legacy}-{f16,q8_0,q4_0,q4_k,q6_k}.gguf
#   models/NAME.gguf            the shipped default = the mla (attn_k_b/attn_v_b) F16 file
#   models/NAME.golden.json     greedy continuations + top-2 margins and held-out NLL from PyTorch
#                               (checked by ctest bundled_model / oracle_bundled_model)
set -eu
cd "$(dirname "$0")/../.."
RUN=${1:-models/train/out}
NAME=${DS2_MODEL_NAME:-ds2-novels-8m}
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE

HF=$RUN/hf
mkdir -p "$HF" "$RUN/gguf"
cp "$RUN/config.json" "$RUN/tokenizer.json" "$HF/"
# Snapshot the checkpoint (a running trainer may replace best.pt at any time: rename is atomic, so a copy
# is always one whole state_dict).
cp "$RUN/best.pt" "$HF/pytorch_model.bin.part" && mv "$HF/pytorch_model.bin.part" "$HF/pytorch_model.bin"
# The trainer framed its data as text with <|endoftext|> only between books and sampled windows starting
# anywhere, so prompts get no BOS (add_bos_token false); <|endoftext|> is both BOS and EOS, as in
# config.json. No chat template: this is a base language model.
cat > "$HF/tokenizer_config.json" <<'EOF'
{
 "add_bos_token": false,
 "add_eos_token": false,
 "bos_token": "<|endoftext|>",
 "eos_token": "<|endoftext|>",
 "model_max_length": 1024,
 "tokenizer_class": "LlamaTokenizerFast"
}
EOF

for gen in mla legacy; do
    for dt in f16 q8_0 q4_0 q4_k q6_k; do
        out=$RUN/gguf/$NAME-$gen-$dt.gguf
        $PY models/convert.py "$HF" --out "$out" --gen "$gen" --dtype "$dt" --pre deepseek-llm --name "$NAME"
        echo "export: $out $(wc -c < "$out") bytes"
    done
done

cp "$RUN/gguf/$NAME-mla-f16.gguf" "models/$NAME.gguf.part" && mv "models/$NAME.gguf.part" "models/$NAME.gguf"
$PY models/train/golden.py make --dir "$HF" --gguf "models/$NAME.gguf" --out "models/$NAME.golden.json"
echo "export: models/$NAME.gguf ($(wc -c < "models/$NAME.gguf") bytes), models/$NAME.golden.json"
